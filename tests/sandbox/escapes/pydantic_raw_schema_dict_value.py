# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: a raw schema as the value type of dict[str, ...]
from nango import create_action
from pydantic import BaseModel

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Thing(BaseModel):
    values: dict[str, raw]


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
