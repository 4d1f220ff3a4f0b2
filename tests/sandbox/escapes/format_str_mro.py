# expect: sandbox_violation
# rule: format_string
# attack: str.format walk to the mro
from nango import create_action


def run(nango, input):
    return "{0.__class__.__mro__[1]}".format(nango)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
