# expect: compile_error
# rule: pydantic_raw_schema
# attack: a dict literal as the type part of Annotated[...]
from nango import create_action
from typing import Annotated

from pydantic import BaseModel, Field

class Thing(BaseModel):
    value: Annotated[{"type": "any"}, Field(ge=0)]


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
