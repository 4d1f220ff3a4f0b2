# expect: runtime_error
# (now: the proxy's setter is a fixed-name callable of the sandbox's, and a partial is never held:
# the call with name= raises a TypeError)
# attack: the same gadget as redteam_descriptor_proxy_setter_partial_eval.py, from an ordinary
# model's class body (@computed_field over @property, as authors write it), run at module load.
from pydantic import BaseModel, computed_field
from nango import create_action

LEAK = []


class Row(BaseModel):
    x: int = 1

    @computed_field
    @property
    def doubled(self) -> int:
        return self.x * 2

    step = doubled.setter
    step("fget", name="__getattribute__")
    step("__globals__", name="__getattribute__")
    step("__builtins__", name="__getitem__")
    step("_getattr_", name="__getitem__")
    step("__func__", name="__getattribute__")
    step("__globals__", name="__getattribute__")
    step("__builtins__", name="__getitem__")
    step("eval", name="__getitem__")
    step("str(type(__import__('sys')._getframe(0)))", name="__call__")
    LEAK.append(doubled.wrapped)
    del doubled, step


def run(nango, input):
    return LEAK


action = create_action(description="escape attempt", version="1.0.0", exec=run)
