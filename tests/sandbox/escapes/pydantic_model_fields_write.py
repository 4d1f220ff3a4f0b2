# expect: sandbox_violation
# rule: write
# attack: changing another model's fields
from nango import create_action

from pydantic import BaseModel


class Issue(BaseModel):
    id: str


Issue.model_fields["id"] = None


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
