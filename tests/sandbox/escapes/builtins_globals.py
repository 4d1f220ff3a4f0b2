# expect: sandbox_violation
# rule: forbidden_builtin
# attack: globals() to reach __builtins__
from nango import create_action


def run(nango, input):
    return globals()["__builtins__"]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
