# expect: sandbox_violation
# rule: private_attribute
# attack: a C function's __self__ is its module
from nango import create_action


def run(nango, input):
    import hashlib
    return getattr(hashlib.sha256, "__self__")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
