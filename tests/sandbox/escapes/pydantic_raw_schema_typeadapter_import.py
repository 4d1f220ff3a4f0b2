# expect: sandbox_violation
# rule: import
# attack: TypeAdapter takes any type, raw schemas included
from nango import create_action
from pydantic import TypeAdapter

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
adapter = TypeAdapter(raw)


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
