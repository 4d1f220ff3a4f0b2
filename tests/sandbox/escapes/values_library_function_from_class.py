# expect: sandbox_violation
# rule: restricted_value
# attack: a library function read from a library class
import json
from nango import create_action


def run(nango, input):
    return json.JSONEncoder.default


action = create_action(description="escape attempt", version="1.0.0", exec=run)
