# expect: sandbox_violation
# rule: private_attribute
# attack: __code__ through getattr
from nango import create_action


def run(nango, input):
    return getattr(run, "__code__")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
