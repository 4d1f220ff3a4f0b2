# expect: sandbox_violation
# rule: private_attribute
# attack: object.__subclasses__ through getattr
from nango import create_action


def run(nango, input):
    return getattr(object, "__subclasses__")()


action = create_action(description="escape attempt", version="1.0.0", exec=run)
