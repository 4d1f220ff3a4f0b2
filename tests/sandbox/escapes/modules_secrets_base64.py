# expect: sandbox_violation
# rule: module_attribute
# attack: secrets.base64 leads out of the allow-list
from nango import create_action


def run(nango, input):
    import secrets
    return secrets.base64


action = create_action(description="escape attempt", version="1.0.0", exec=run)
