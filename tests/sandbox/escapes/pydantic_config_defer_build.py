# expect: sandbox_violation
# rule: pydantic_config
# attack: defer_build moves schema building out of the class statement
from nango import create_action

from pydantic import BaseModel


class Later(BaseModel):
    model_config = {"defer_build": True}
    x: int = 0


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
