# expect: sandbox_violation
# rule: restricted_attribute
# attack: gi_frame through getattr
from nango import create_action


def run(nango, input):
    gen = (x for x in [1])
    return getattr(gen, "gi_frame")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
