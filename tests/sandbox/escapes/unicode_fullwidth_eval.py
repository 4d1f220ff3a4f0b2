# expect: compile_error
# rule: forbidden_call
# attack: fullwidth letters normalise to eval
from nango import create_action


def run(nango, input):
    return ｅｖａｌ("1")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
