# expect: sandbox_violation
# rule: module_attribute
# attack: uuid.os leads out of the allow-list
from nango import create_action


def run(nango, input):
    import uuid
    return uuid.os


action = create_action(description="escape attempt", version="1.0.0", exec=run)
