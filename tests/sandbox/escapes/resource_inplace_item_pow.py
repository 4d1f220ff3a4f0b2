# expect: runtime_error
# code: resource_exhausted
# attack: in-place power on an item
from nango import create_action


def run(nango, input):
    values = {"x": 3}
    values["x"] **= 10**9
    return values


action = create_action(description="escape attempt", version="1.0.0", exec=run)
