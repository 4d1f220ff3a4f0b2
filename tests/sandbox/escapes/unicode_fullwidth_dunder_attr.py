# expect: compile_error
# rule: private_name
# attack: fullwidth low lines normalise to __class__
from nango import create_action


def run(nango, input):
    return ().＿＿class＿＿


action = create_action(description="escape attempt", version="1.0.0", exec=run)
