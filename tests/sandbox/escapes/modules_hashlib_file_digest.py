# expect: sandbox_violation
# rule: module_attribute
# attack: hashlib.file_digest leads out of the allow-list
from nango import create_action


def run(nango, input):
    import hashlib
    return hashlib.file_digest


action = create_action(description="escape attempt", version="1.0.0", exec=run)
