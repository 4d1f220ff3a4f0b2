# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: the return annotation of a model_serializer
from nango import create_action
from pydantic import BaseModel, model_serializer

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}
class Thing(BaseModel):
    a: int = 1

    @model_serializer
    def dump(self) -> raw:
        return {"a": self.a}


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
