# expect: sandbox_violation
# attack: a logged model whose model_serializer return annotation is a raw schema
from nango import create_action
from pydantic import BaseModel, model_serializer

raw = {"type": "model", "cls": object, "schema": {"type": "model-fields", "fields": {}, "from_attributes": True}}


def run(nango, input):
    class Thing(BaseModel):
        id: str = "1"

        @model_serializer
        def dump(self) -> raw:
            return {"id": self.id}

    nango.log("thing", Thing())
    return "logged"


action = create_action(description="escape attempt", exec=run)
