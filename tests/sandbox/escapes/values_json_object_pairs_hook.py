# expect: sandbox_violation
# rule: restricted_value
# attack: json object_pairs_hook result carrying library values, read back
import json

from pydantic import Field
from nango import create_action


def run(nango, input):
    lookup = Field().metadata_lookup
    pairs = json.loads('{"a": 1}', object_pairs_hook=lambda pairs: lookup)
    return pairs["gt"]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
