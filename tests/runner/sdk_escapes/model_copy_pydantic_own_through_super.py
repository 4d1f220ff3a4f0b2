# expect: sandbox_violation
# attack: pydantic's own model_copy (no check of update's keys), reached past the sandbox's
# BaseModel through super()
from pydantic import BaseModel

from nango import create_action


class Carrier(BaseModel):
    x: int = 0


def run(nango, input):
    copy = super(BaseModel, Carrier()).model_copy
    return copy(update={"__get_pydantic_core_schema__": len}).x


action = create_action(description="escape attempt", exec=run)
