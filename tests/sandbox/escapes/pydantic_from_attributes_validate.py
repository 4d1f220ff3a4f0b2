# expect: sandbox_violation
# rule: pydantic_from_attributes
# attack: from_attributes reads dunder attributes through aliases
from pydantic import BaseModel, Field
from nango import create_action


class Leak(BaseModel):
    scope: dict = Field(alias="__globals__")


def run(nango, input):
    return Leak.model_validate(nango.log, from_attributes=True)


action = create_action(description="escape attempt", exec=run)
