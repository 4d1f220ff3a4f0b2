# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: a dict empty when the annotation is written, filled before the model is built
from nango import create_action
from pydantic import BaseModel

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
late = {}


class Thing(BaseModel):
    value: late


late.update(raw)


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
