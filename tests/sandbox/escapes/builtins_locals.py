# expect: sandbox_violation
# rule: forbidden_builtin
# attack: locals()
from nango import create_action


def run(nango, input):
    return locals()


action = create_action(description="escape attempt", version="1.0.0", exec=run)
