# expect: runtime_error
# code: resource_exhausted
# attack: huge bytes, operand order swapped
from nango import create_action


def run(nango, input):
    return 10**12 * b"x"


action = create_action(description="escape attempt", version="1.0.0", exec=run)
