# expect: sandbox_violation
# rule: metaclass
# attack: a metaclass (typing.Type base) makes a class with __get_pydantic_core_schema__; handler("...") evals
from nango import create_action

import typing
from pydantic import BaseModel


class Maker(typing.Type):
    pass


def hook(cls, source, handler):
    return handler("__import__('os').getpid() and int")


Evil = Maker("Evil", (), {"__get_pydantic_core_schema__": classmethod(hook)})


class Model(BaseModel):
    x: Evil


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
