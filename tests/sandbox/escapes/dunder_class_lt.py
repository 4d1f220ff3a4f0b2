# expect: compile_error
# rule: private_name
# attack: a custom __lt__ (same leak as __eq__)
from nango import create_action

class Spy:
    def __lt__(self, other):
        return False


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
