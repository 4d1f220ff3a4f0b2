# expect: compile_error
# rule: private_name
# attack: pydantic's private __pydantic_reset_parent_namespace__ / _create_model_module class keywords
from nango import create_action

from pydantic import BaseModel


class Model(BaseModel, __pydantic_reset_parent_namespace__=False, _create_model_module="os"):
    x: int = 1


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
