# expect: sandbox_violation
# rule: forbidden_builtin
# attack: eval through an alias
from nango import create_action


def run(nango, input):
    f = eval
    return f("1 + 1")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
