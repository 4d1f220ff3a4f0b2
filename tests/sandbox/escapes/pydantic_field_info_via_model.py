# expect: sandbox_violation
# rule: pydantic_method
# attack: FieldInfo methods reached through model_fields
from nango import create_action

from pydantic import BaseModel


class Issue(BaseModel):
    id: str


Issue.model_fields["id"].rebuild_annotation()


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
