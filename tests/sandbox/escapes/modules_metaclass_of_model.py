# expect: sandbox_violation
# rule: type_call
# attack: the metaclass of a model through type()
from nango import create_action


def run(nango, input):
    from pydantic import BaseModel
    meta = type(BaseModel)
    return meta("Evil", (BaseModel,), {"__annotations__": {"x": "__import__('os')"}})


action = create_action(description="escape attempt", version="1.0.0", exec=run)
