# expect: runtime_error
# (the library's annotation now resolves in its own module: the run raises below when nothing
# escaped; an escape would fill the sink and return it)
# attack: a library function (pydantic's own Field) used as a field serializer. pydantic infers
# the serializer's return type from the function's string return annotation ("Any", the
# module uses `from __future__ import annotations`), evaluated with the library module's
# globals (real builtins) and, as locals, the namespace of the model being built: a ClassVar
# of the model named `Any` whose value is a string shadows it; typing turns the string that
# evaluation returns into a ForwardRef and evaluates it again: code of the function's choosing
# runs with the real builtins, no guard in sight.
from typing import ClassVar
from pydantic import BaseModel, Field, field_serializer
from nango import create_action

SINK = []
CODE = (
    "(sink.append(repr((__import__('os').getuid(), __import__('os').getpid(),"
    " open.__module__, sorted(__import__('sys').modules)[:3]))), int)[1]"
)


def run(nango, input):
    class M(BaseModel):
        Any: ClassVar[str] = CODE
        sink: ClassVar[list] = SINK
        x: int = 0
        ser = field_serializer("x")(Field)

    if not SINK:
        raise ValueError("nothing was evaluated outside the sandbox")
    return {"unguarded_eval": SINK}


action = create_action(description="escape attempt", exec=run)
