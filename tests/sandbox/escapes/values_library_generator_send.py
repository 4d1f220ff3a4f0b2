# expect: runtime_error
# attack: send() into a library generator (it is an iteration-only facade)
import json
from nango import create_action


def run(nango, input):
    chunks = json.JSONEncoder().iterencode({"a": 1})
    return chunks.send(None)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
