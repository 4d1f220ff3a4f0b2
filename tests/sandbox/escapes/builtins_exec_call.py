# expect: compile_error
# rule: forbidden_call
# attack: exec called by name
from nango import create_action


def run(nango, input):
    exec("import os")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
