# expect: sandbox_violation
# rule: forbidden_builtin
# attack: memoryview() for raw memory
from nango import create_action


def run(nango, input):
    return memoryview(b"x")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
