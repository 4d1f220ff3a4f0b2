# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: a dict held in a variable used as a field annotation
from nango import create_action
from pydantic import BaseModel

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Thing(BaseModel):
    value: raw


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
