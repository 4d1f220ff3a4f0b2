# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: a model with a raw schema field defined while the function runs
from nango import create_action
from pydantic import BaseModel

raw = {"type": "union", "choices": [
    {"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}},
]}



def run(nango, input):
    class Thing(BaseModel):
        value: raw

    return Thing(value=1).model_dump()


action = create_action(description="escape attempt", version="1.0.0", exec=run)
