# expect: compile_error
# rule: pydantic_raw_schema
# attack: a dict literal as the item type of list[...]
from nango import create_action
from pydantic import BaseModel

class Thing(BaseModel):
    values: list[{"type": "any"}]


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
