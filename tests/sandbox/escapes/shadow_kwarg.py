# expect: compile_error
# rule: private_name
# attack: **kwargs named _apply_
from nango import create_action

def walk(**_apply_):
    return 1


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
