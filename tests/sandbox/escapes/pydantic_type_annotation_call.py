# expect: runtime_error
# attack: a model field annotated `type` hands out typing.Type, which cannot build classes
from nango import create_action

from pydantic import BaseModel


class Holder(BaseModel):
    kind: type = int


maker = Holder.model_fields["kind"].annotation
Evil = maker("Evil", (), {})


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
