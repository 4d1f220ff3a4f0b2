# expect: compile_error
# rule: private_name
# attack: a class defining __getattr__
from nango import create_action

class Spy:
    def __getattr__(self, name):
        return name


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
