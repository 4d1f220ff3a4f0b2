# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: Annotated metadata whose input type is a raw schema
from nango import create_action
from typing import Annotated

from pydantic import BaseModel, BeforeValidator

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
def keep(value):
    return value


class Thing(BaseModel):
    value: Annotated[int, BeforeValidator(keep, raw)]


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
