# expect: sandbox_violation
# rule: restricted_attribute
# attack: gi_yieldfrom through getattr
from nango import create_action


def run(nango, input):
    def inner():
        yield 1


    def outer():
        yield from inner()


    gen = outer()
    next(gen)
    return getattr(gen, "gi_yieldfrom")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
