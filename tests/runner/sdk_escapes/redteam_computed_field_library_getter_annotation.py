# expect: runtime_error
# (the library's annotation now resolves in its own module: the run raises below when nothing
# escaped; an escape would fill the sink and return it)
# attack: the same class as serializer_return_annotation_shadowed.py through computed_field: a
# library bound method (SecretStr(...).get_secret_value, return annotation the string "SecretType")
# as a computed field's getter; pydantic evaluates "SecretType" with the model's namespace as locals,
# where a ClassVar named `SecretType` holds code; the string it yields is evaluated again with the
# library module's real builtins.
from typing import ClassVar
from pydantic import BaseModel, SecretStr, computed_field
from nango import create_action

SINK = []
CODE = "(sink.append(repr((__import__('os').getuid(), __import__('os').getpid(), open.__module__))), int)[1]"
SECRET = SecretStr("x")


def run(nango, input):
    class M(BaseModel):
        SecretType: ClassVar = CODE
        sink: ClassVar = SINK
        x: int = 0
        shown = computed_field(SECRET.get_secret_value)

    if not SINK:
        raise ValueError("nothing was evaluated outside the sandbox")
    return {"unguarded_eval": SINK}


action = create_action(description="escape attempt", exec=run)
