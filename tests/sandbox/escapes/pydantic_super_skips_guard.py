# expect: sandbox_violation
# rule: pydantic_method
# attack: super(BaseModel, cls).model_validate skips the sandbox's from_attributes check
from pydantic import BaseModel, Field
from nango import create_action


class Leak(BaseModel):
    scope: dict = Field(alias="__globals__")


def run(nango, input):
    return super(BaseModel, Leak).model_validate(nango.log, from_attributes=True)


action = create_action(description="escape attempt", exec=run)
