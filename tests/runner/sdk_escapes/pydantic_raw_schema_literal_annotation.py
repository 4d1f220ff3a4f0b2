# expect: compile_error
# attack: a dict literal as a record model annotation
from nango import create_action
from pydantic import BaseModel


class Thing(BaseModel):
    id: str
    value: {"type": "any"}


def run(nango, input):
    nango.batch_save([Thing(id="1", value=1)], "Thing")
    return "saved"


action = create_action(description="escape attempt", exec=run)
