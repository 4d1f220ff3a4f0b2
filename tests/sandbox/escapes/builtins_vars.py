# expect: sandbox_violation
# rule: forbidden_builtin
# attack: vars() of the SDK object
from nango import create_action


def run(nango, input):
    return vars(nango)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
