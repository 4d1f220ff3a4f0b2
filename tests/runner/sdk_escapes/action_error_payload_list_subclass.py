# expect: sandbox_violation
# (refused at the class statement: a class deriving from a builtin type may not redefine its
# methods, sandbox/language/_builtin_overrides.py; it failed at run time, typed, before)
# attack: a list subclass as an ActionError payload (wrapped as {"message": payload}) whose
# iteration raises and whose length lies
from nango import create_action, HttpError, ActionError


class Liar(list):
    def __len__(self):
        return 10**9

    def __iter__(self):
        raise KeyError("iterated")


def run(nango, input):
    raise ActionError(Liar([1, 2]))


action = create_action(description="escape attempt", exec=run)
