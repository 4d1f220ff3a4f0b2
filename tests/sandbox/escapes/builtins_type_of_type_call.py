# expect: sandbox_violation
# rule: type_call
# attack: type(type) to reach the real type
from nango import create_action


def run(nango, input):
    real = type(type)
    return real("X", (), {})


action = create_action(description="escape attempt", version="1.0.0", exec=run)
