# expect: compile_error
# rule: private_name
# attack: pydantic's private __pydantic_generic_metadata__ class keyword substitutes a string into a field and evals it
from nango import create_action

from pydantic import BaseModel


class Base(BaseModel, __pydantic_generic_metadata__={"origin": None, "args": (), "parameters": (int,)}):
    x: int = 1


class Evil(Base, __pydantic_generic_metadata__={"origin": Base, "args": ("__import__('os').getpid() and int",), "parameters": ()}):
    pass


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
