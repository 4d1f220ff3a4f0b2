# expect: sandbox_violation
# rule: module_attribute
# attack: base64.binascii leads out of the allow-list
from nango import create_action


def run(nango, input):
    import base64
    return base64.binascii


action = create_action(description="escape attempt", version="1.0.0", exec=run)
