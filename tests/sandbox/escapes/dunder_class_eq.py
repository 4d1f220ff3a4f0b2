# expect: compile_error
# rule: private_name
# attack: a custom __eq__ receives whatever library code compares it with (pathlib.Path in pydantic)
from nango import create_action

class Spy:
    def __eq__(self, other):
        return False


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
