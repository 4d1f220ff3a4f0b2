# expect: compile_error
# rule: metaclass
# attack: a class with metaclass=
from nango import create_action

class Meta(type):
    pass


class A(metaclass=Meta):
    pass


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
