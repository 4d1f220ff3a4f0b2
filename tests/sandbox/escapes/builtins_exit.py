# expect: sandbox_violation
# rule: forbidden_builtin
# attack: exit() to stop the worker
from nango import create_action


def run(nango, input):
    exit(0)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
