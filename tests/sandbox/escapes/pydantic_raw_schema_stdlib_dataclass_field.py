# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: a stdlib dataclass field typed with a raw schema, used in a model
from nango import create_action
from dataclasses import dataclass

from pydantic import BaseModel

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
@dataclass
class Inner:
    value: raw


class Thing(BaseModel):
    inner: Inner


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
