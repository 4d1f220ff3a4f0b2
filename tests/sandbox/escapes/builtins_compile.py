# expect: sandbox_violation
# rule: forbidden_builtin
# attack: compile() to make a code object
from nango import create_action


def run(nango, input):
    return compile("1", "<x>", "eval")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
