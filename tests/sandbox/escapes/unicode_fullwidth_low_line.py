# expect: compile_error
# rule: syntax
# attack: fullwidth low lines cannot start a name
from nango import create_action


def run(nango, input):
    return ().＿＿class＿＿


action = create_action(description="escape attempt", version="1.0.0", exec=run)
