# expect: sandbox_violation
# rule: forbidden_builtin
# attack: a refused builtin passed as a callback (sorted key=) instead of called by name
from nango import create_action


def run(nango, input):
    return sorted([nango], key=vars)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
