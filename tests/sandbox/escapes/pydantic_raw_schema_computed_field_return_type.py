# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: computed_field(return_type=...) with a raw schema
from nango import create_action
from pydantic import BaseModel, computed_field

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Thing(BaseModel):
    a: int = 1

    @computed_field(return_type=raw)
    @property
    def doubled(self):
        return self.a * 2


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
