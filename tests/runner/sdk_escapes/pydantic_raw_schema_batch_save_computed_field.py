# expect: sandbox_violation
# attack: a saved record whose computed field's return type is a raw schema
from nango import create_action
from pydantic import BaseModel, computed_field

raw = {"type": "model", "cls": object, "schema": {"type": "model-fields", "fields": {}, "from_attributes": True}}


def run(nango, input):
    class Thing(BaseModel):
        id: str

        @computed_field(return_type=raw)
        @property
        def extra(self):
            return nango

    nango.batch_save([Thing(id="1")], "Thing")
    return "saved"


action = create_action(description="escape attempt", exec=run)
