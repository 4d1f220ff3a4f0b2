# expect: sandbox_violation
# rule: pydantic_method
# attack: pydantic model_construct is outside the allow-list
from nango import create_action

from pydantic import BaseModel


class Issue(BaseModel):
    id: str


result = Issue.model_construct(id="1")


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
