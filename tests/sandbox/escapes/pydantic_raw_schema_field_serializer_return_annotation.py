# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: the return annotation of a field_serializer
from nango import create_action
from pydantic import BaseModel, field_serializer

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Thing(BaseModel):
    a: int = 1

    @field_serializer("a")
    def dump_a(self, value) -> raw:
        return value


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
