# expect: runtime_error
# attack: throw() into a library generator
import json
from nango import create_action


def run(nango, input):
    chunks = json.JSONEncoder().iterencode({"a": 1})
    next(chunks)
    return chunks.throw(ValueError("x"))


action = create_action(description="escape attempt", version="1.0.0", exec=run)
