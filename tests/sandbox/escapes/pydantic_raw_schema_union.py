# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: a raw schema as one member of Union[...]
from nango import create_action
from typing import Union

from pydantic import BaseModel

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Thing(BaseModel):
    value: Union[int, raw]


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
