# expect: runtime_error
# code: resource_exhausted
# attack: a huge list
from nango import create_action


def run(nango, input):
    return [0] * 10**10


action = create_action(description="escape attempt", version="1.0.0", exec=run)
