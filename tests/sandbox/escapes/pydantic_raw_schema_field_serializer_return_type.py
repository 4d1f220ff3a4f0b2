# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: field_serializer(return_type=...) with a raw schema
from nango import create_action
from pydantic import BaseModel, field_serializer

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Thing(BaseModel):
    a: int = 1

    @field_serializer("a", return_type=raw)
    def dump_a(self, value):
        return value


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
