# expect: compile_error
# rule: private_name
# attack: a module's private C module
from nango import create_action


def run(nango, input):
    import hashlib
    return hashlib._hashlib


action = create_action(description="escape attempt", version="1.0.0", exec=run)
