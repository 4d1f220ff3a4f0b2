# expect: sandbox_violation
# rule: module_attribute
# attack: decimal.DefaultContext leads out of the allow-list
from nango import create_action


def run(nango, input):
    import decimal
    return decimal.DefaultContext


action = create_action(description="escape attempt", version="1.0.0", exec=run)
