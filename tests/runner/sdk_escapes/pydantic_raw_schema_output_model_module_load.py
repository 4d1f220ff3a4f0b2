# expect: sandbox_violation
# attack: an action output model with a raw schema in its fields, at module load
from nango import create_action
from pydantic import BaseModel, conlist

raw = {"type": "model", "cls": object, "schema": {"type": "model-fields", "fields": {}, "from_attributes": True}}


class Out(BaseModel):
    values: conlist(raw)


def run(nango, input):
    return Out(values=[])


action = create_action(description="escape attempt", output=Out, exec=run)
