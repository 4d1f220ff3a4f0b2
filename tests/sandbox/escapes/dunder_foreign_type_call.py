# expect: runtime_error
# attack: calling the class of the SDK object
from nango import create_action


def run(nango, input):
    cls = type(nango)
    return cls()


action = create_action(description="escape attempt", version="1.0.0", exec=run)
