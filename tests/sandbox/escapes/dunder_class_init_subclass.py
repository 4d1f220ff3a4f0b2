# expect: compile_error
# rule: private_name
# attack: a class defining __init_subclass__
from nango import create_action

class Base:
    def __init_subclass__(cls, **kwargs):
        pass


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
