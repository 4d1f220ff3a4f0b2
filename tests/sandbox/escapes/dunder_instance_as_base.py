# expect: sandbox_violation
# rule: metaclass
# attack: an instance as a base: its type is called as the metaclass and the result is registered as a class
from nango import create_action

holder = property(None)


class Made(holder):
    pass


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
