# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: conlist(item_type=...) with a raw schema, built outside any annotation
from nango import create_action
from pydantic import conlist

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
Items = conlist(item_type=raw, max_length=3)


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
