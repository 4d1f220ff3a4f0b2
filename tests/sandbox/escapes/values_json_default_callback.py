# expect: sandbox_violation
# rule: restricted_value
# attack: json.dumps(default=) hands unserialisable library values to a callback
import json

from pydantic import Field
from nango import create_action


def run(nango, input):
    seen = []
    json.dumps(dict(Field().metadata_lookup), default=lambda value: seen.append(value) or "x")
    return seen


action = create_action(description="escape attempt", version="1.0.0", exec=run)
