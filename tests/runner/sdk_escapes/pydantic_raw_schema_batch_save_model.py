# expect: sandbox_violation
# attack: a record model with a raw-schema field built inside the run and saved
from nango import create_action
from pydantic import BaseModel

raw = {"type": "model", "cls": object, "schema": {"type": "model-fields", "fields": {}, "from_attributes": True}}


def run(nango, input):
    class Thing(BaseModel):
        id: str
        value: list[raw] = []

    nango.batch_save([Thing(id="1")], "Thing")
    return "saved"


action = create_action(description="escape attempt", exec=run)
