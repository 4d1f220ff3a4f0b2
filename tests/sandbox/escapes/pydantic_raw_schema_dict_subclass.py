# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: an instance of a dict subclass used as a type
from nango import create_action
from pydantic import BaseModel

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Schema(dict):
    pass


class Thing(BaseModel):
    value: Schema(raw)


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
