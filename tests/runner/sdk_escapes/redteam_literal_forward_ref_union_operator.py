# expect: sandbox_violation
# attack: no method call at all: `Optional[int] | "code"` is typing's __or__, which builds
# Union[..., "code"] and turns the string into a ForwardRef (operator results are not checked,
# and no subscription of the function's is involved); inside Literal[...] no annotation check
# looks at it, and typing._eval_type (pydantic, on every field) evaluates it with eval().
from typing import ClassVar, Literal, Optional
from pydantic import BaseModel
from nango import create_action

SINK = []
CODE = "(sink.append(repr((__import__('os').getuid(), open.__module__))), 0)[1]"


def run(nango, input):
    kind = Literal[Optional[int] | CODE]

    class M(BaseModel):
        sink: ClassVar[list] = SINK
        x: kind = None

    if not SINK:
        raise ValueError("nothing was evaluated outside the sandbox")
    return {"unguarded_eval": SINK}


action = create_action(description="escape attempt", exec=run)
