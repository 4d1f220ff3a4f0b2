# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: a raw schema as the type part of Annotated[...]
from nango import create_action
from typing import Annotated

from pydantic import BaseModel, Field

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Thing(BaseModel):
    value: Annotated[raw, Field(description="x")]


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
