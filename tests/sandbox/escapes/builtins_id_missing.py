# expect: runtime_error
# attack: id() leaks addresses (not provided)
from nango import create_action


def run(nango, input):
    return id(nango)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
