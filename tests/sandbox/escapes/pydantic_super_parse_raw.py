# expect: sandbox_violation
# rule: pydantic_method
# attack: a denied pydantic method through super()
from nango import create_action

from pydantic import BaseModel


class Issue(BaseModel):
    id: str

    def load(self):
        return super().parse_raw(b"x", allow_pickle=True)


result = Issue(id="1").load()


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
