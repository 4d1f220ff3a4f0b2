# expect: compile_error
# rule: pydantic_raw_schema
# attack: a dict literal as a serializer's return annotation
from nango import create_action
from pydantic import BaseModel, model_serializer

class Thing(BaseModel):
    a: int = 1

    @model_serializer
    def dump(self) -> {"type": "any"}:
        return {"a": self.a}


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
