# expect: sandbox_violation
# rule: pydantic_config
# attack: use_attribute_docstrings reads source files
from nango import create_action

from pydantic import BaseModel


class Doc(BaseModel):
    model_config = {"use_attribute_docstrings": True}
    x: int = 0


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
