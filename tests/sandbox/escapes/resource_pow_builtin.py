# expect: runtime_error
# code: resource_exhausted
# attack: pow() builtin with a huge result
from nango import create_action


def run(nango, input):
    return pow(2, 10**9)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
