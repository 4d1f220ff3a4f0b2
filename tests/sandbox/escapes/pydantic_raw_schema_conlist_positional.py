# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: conlist with a raw schema as its item type
from nango import create_action
from pydantic import BaseModel, conlist

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Thing(BaseModel):
    values: conlist(raw, min_length=1)


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
