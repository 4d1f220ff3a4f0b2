# expect: compile_error
# rule: private_name
# attack: super().__getattribute__
from nango import create_action

class A:
    def get(self):
        return super().__getattribute__("x")


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
