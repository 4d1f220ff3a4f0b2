# expect: sandbox_violation
# attack: the getter function of a library property
from pydantic import BaseModel
from nango import create_action


def run(nango, input):
    return BaseModel.model_extra.fget


action = create_action(description="escape attempt", version="1.0.0", exec=run)
