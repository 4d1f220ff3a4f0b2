# expect: runtime_error
# attack: an attribute the module does not have
from nango import create_action


def run(nango, input):
    import math
    return math.os


action = create_action(description="escape attempt", version="1.0.0", exec=run)
