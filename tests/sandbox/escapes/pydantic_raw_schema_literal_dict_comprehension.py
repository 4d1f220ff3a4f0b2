# expect: compile_error
# rule: pydantic_raw_schema
# attack: a dict comprehension as an annotation
from nango import create_action
from pydantic import BaseModel

class Thing(BaseModel):
    value: {key: "any" for key in ["type"]}


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
