# expect: runtime_error
# attack: a Cyrillic е that only looks like eval
from nango import create_action


def run(nango, input):
    return еval("1")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
