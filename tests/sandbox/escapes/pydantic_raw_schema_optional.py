# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: a raw schema inside Optional[...]
from nango import create_action
from typing import Optional

from pydantic import BaseModel

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Thing(BaseModel):
    value: Optional[raw] = None


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
