# expect: sandbox_violation
# rule: metaclass
# attack: the typing.Type a `type` field hands out, used as a base (not called), makes a metaclass
from nango import create_action

from pydantic import BaseModel


class Holder(BaseModel):
    kind: type = int


class Maker(Holder.model_fields["kind"].annotation):
    pass


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
