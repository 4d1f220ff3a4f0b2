# expect: sandbox_violation
# rule: write
# attack: replacing a model's configuration after creation
from nango import create_action

from pydantic import BaseModel


class Issue(BaseModel):
    id: str


Issue.model_config = {"from_attributes": True}


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
