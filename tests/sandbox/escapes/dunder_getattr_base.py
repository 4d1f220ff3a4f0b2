# expect: sandbox_violation
# rule: private_attribute
# attack: type(()).__base__ through getattr
from nango import create_action


def run(nango, input):
    return getattr(type(()), "__base__")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
