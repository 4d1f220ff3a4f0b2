# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: the refusal caught by function code (the violation is still recorded)
from nango import create_action
from pydantic import BaseModel

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
try:
    class Thing(BaseModel):
        value: raw
except Exception:
    Thing = None


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
