# expect: sandbox_violation
# rule: forbidden_builtin
# attack: dir() without arguments lists the scope
from nango import create_action


def run(nango, input):
    return dir()


action = create_action(description="escape attempt", version="1.0.0", exec=run)
