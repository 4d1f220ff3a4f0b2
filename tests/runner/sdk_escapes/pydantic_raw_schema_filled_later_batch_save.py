# expect: sandbox_violation
# attack: a dict empty when used in a type, filled before the record is saved
from nango import create_action
from pydantic import BaseModel

late = {}


def run(nango, input):
    class Thing(BaseModel):
        id: str
        value: dict[str, late] = {}

    late["type"] = "any"
    nango.batch_save([Thing(id="1")], "Thing")
    return "saved"


action = create_action(description="escape attempt", exec=run)
