# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: a stdlib dataclass field typed list[raw schema]
from nango import create_action
from dataclasses import dataclass

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
@dataclass
class Inner:
    values: list[raw]


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
