# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: a raw schema typed field hidden behind Field(json_schema_extra=...)
from nango import create_action
from typing import Annotated

from pydantic import BaseModel, Field

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Thing(BaseModel):
    value: Annotated[list[raw], Field(json_schema_extra={"examples": [1]})]


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
