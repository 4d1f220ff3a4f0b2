# expect: compile_error
# rule: pydantic_raw_schema
# attack: a set literal as an annotation
from nango import create_action
from pydantic import BaseModel

class Thing(BaseModel):
    values: {int}


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
