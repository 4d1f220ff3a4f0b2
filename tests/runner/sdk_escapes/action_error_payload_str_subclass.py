# expect: sandbox_violation
# (refused at the class statement: a class deriving from a builtin type may not redefine its
# methods, sandbox/language/_builtin_overrides.py; it failed at run time, typed, before)
# attack: a str subclass as an ActionError payload, wrapped as {"message": payload} (the seed's
# shape for a payload that is no object): its own methods must not run on the host's side, and
# what the caller gets is plain text
from nango import create_action, HttpError, ActionError


class Loud(str):
    def __iter__(self):
        raise KeyError("iterated")

    def __str__(self):
        raise KeyError("str")

    def __hash__(self):
        raise KeyError("hashed")


def run(nango, input):
    raise ActionError(Loud("out of stock"))


action = create_action(description="escape attempt", exec=run)
