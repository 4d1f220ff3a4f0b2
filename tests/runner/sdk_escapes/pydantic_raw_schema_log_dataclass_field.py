# expect: sandbox_violation
# attack: a logged model holding a stdlib dataclass whose field type is a raw schema
from dataclasses import dataclass

from nango import create_action
from pydantic import BaseModel

raw = {"type": "model", "cls": object, "schema": {"type": "model-fields", "fields": {}, "from_attributes": True}}


def run(nango, input):
    @dataclass
    class Inner:
        value: raw

    class Thing(BaseModel):
        inner: Inner

    nango.log(Thing(inner=Inner(1)))
    return "logged"


action = create_action(description="escape attempt", exec=run)
