# expect: sandbox_violation
# rule: restricted_value
# attack: a library function from a class, passed around and called
import json
from nango import create_action


def run(nango, input):
    encode = json.JSONEncoder.encode
    return sorted([1], key=encode)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
