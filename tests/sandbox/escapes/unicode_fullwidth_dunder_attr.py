# expect: compile_error
# rule: private_name
# attack: fullwidth letters in a dunder normalise to __class__
from nango import create_action


def run(nango, input):
    return ().__ｃｌａｓｓ__


action = create_action(description="escape attempt", version="1.0.0", exec=run)
