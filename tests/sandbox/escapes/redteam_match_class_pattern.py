# expect: compile_error
# attack: a class pattern reads attributes in the interpreter, past the attribute guard
import pydantic
from nango import create_action


class M(pydantic.BaseModel):
    x: int = 1


def run(nango, input):
    match M:
        case object(model_fields=fields, __dict__=namespace):
            return namespace


action = create_action(description="escape attempt", version="1.0.0", exec=run)
