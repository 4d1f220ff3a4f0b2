# expect: sandbox_violation
# rule: restricted_value
# attack: the getattr builtin reading a library function from a library class
import json
from nango import create_action


def run(nango, input):
    return getattr(json.JSONEncoder, "default")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
