# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: field_validator(json_schema_input_type=...) with a raw schema
from nango import create_action
from pydantic import BaseModel, field_validator

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Thing(BaseModel):
    a: int = 1

    @field_validator("a", mode="before", json_schema_input_type=raw)
    @classmethod
    def check(cls, value):
        return value


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
