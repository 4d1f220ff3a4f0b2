# expect: sandbox_violation
# rule: forbidden_builtin
# attack: input()
from nango import create_action

answer = input()


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
