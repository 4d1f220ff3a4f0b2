# expect: sandbox_violation
# rule: pydantic_method
# attack: pydantic parse_raw is outside the allow-list
from nango import create_action

from pydantic import BaseModel


class Issue(BaseModel):
    id: str


result = Issue.parse_raw(b"x", content_type="application/pickle", allow_pickle=True)


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
