# expect: sandbox_violation
# rule: private_attribute
# attack: a bound SDK method's __func__
from nango import create_action


def run(nango, input):
    return getattr(nango.log, "__func__")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
