# expect: sandbox_violation
# rule: restricted_value
# attack: a library container sent into a generator, read inside it
from pydantic import Field
from nango import create_action


def receiver():
    got = yield 1
    yield got["gt"]


def run(nango, input):
    gen = receiver()
    next(gen)
    return gen.send(Field().metadata_lookup)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
