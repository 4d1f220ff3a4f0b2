# expect: sandbox_violation
# rule: attribute_name
# attack: a str subclass (one that redefines nothing, so the class is allowed) as an attribute name
from nango import create_action


def run(nango, input):
    class Name(str):
        pass

    return getattr((), Name("__class__"))


action = create_action(description="escape attempt", version="1.0.0", exec=run)
