# expect: sandbox_violation
# rule: pydantic_method
# attack: pydantic copy is outside the allow-list
from nango import create_action

from pydantic import BaseModel


class Issue(BaseModel):
    id: str


result = Issue(id="1").copy()


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
