# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: model_serializer(return_type=...) with a raw schema
from nango import create_action
from pydantic import BaseModel, model_serializer

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Thing(BaseModel):
    a: int = 1

    @model_serializer(mode="plain", return_type=raw)
    def dump(self):
        return {"a": self.a}


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
