# expect: sandbox_violation
# rule: write
# attack: changing the sandbox's BaseModel class itself
from nango import create_action

from pydantic import BaseModel


BaseModel.model_config = {"from_attributes": True}


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
