# expect: runtime_error
# code: resource_exhausted
# attack: in-place repetition
from nango import create_action


def run(nango, input):
    text = "x"
    text *= 10**10
    return text


action = create_action(description="escape attempt", version="1.0.0", exec=run)
