# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: an object with keys() and get() standing in for a schema
from nango import create_action
from pydantic import BaseModel

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Table:
    def keys(self):
        return ["type"]

    def get(self, key, default=None):
        return "any"


class Thing(BaseModel):
    value: Table()


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
