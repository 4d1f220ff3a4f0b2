# expect: sandbox_violation
# rule: builtin_override
# attack: a str subclass as attribute name that lies in startswith (RestrictedPython 7.2)
from nango import create_action


def run(nango, input):
    class Name(str):
        def startswith(self, prefix):
            return False


    return getattr((), Name("__class__"))


action = create_action(description="escape attempt", version="1.0.0", exec=run)
