# expect: sandbox_violation
# rule: pydantic_config
# attack: model_config as a plain dict
from nango import create_action

from pydantic import BaseModel


class Leak(BaseModel):
    model_config = {"from_attributes": True}
    x: int = 0


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
