# expect: compile_error
# rule: metaclass
# attack: class keywords through ** (hides metaclass=)
from nango import create_action

class A(**{"metaclass": type}):
    pass


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
