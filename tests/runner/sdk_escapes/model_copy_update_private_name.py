# expect: sandbox_violation
# attack: model_copy(update=...) writes each key into the copy's namespace unchecked by pydantic:
# a private name there is what setattr refuses
from pydantic import BaseModel

from nango import create_action


class Carrier(BaseModel):
    x: int = 0


def run(nango, input):
    copied = Carrier().model_copy(update={"__pydantic_fields_set__": {"x"}, "x": 1})
    return copied.x


action = create_action(description="escape attempt", exec=run)
