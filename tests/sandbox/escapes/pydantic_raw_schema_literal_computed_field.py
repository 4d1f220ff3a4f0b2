# expect: compile_error
# rule: pydantic_raw_schema
# attack: a dict literal as computed_field(return_type=...)
from nango import create_action
from pydantic import BaseModel, computed_field

class Thing(BaseModel):
    a: int = 1

    @computed_field(return_type={"type": "any"})
    @property
    def doubled(self):
        return self.a * 2


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
