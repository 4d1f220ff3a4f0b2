# expect: compile_error
# rule: private_name
# attack: __builtins__ by name
from nango import create_action


def run(nango, input):
    return __builtins__["eval"]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
