# expect: runtime_error
# (now: the proxy's setter is a fixed-name callable of the sandbox's, and a partial is never held:
# the call with name= raises a TypeError)
# attack: pydantic's PydanticDescriptorProxy (what computed_field returns) stores
# `setter = functools.partial(self._call_wrapped_attr, name="setter")`; a partial is an allowed
# "library value" (module root functools), and its fixed keyword can be overridden at call time:
# `proxy.setter(arg, name=N)` runs `self.wrapped = getattr(self.wrapped, N)(arg)` inside pydantic,
# a raw getattr with any name (dunders included), applied step by step to a value function code
# never holds. The chain walks property -> fget -> __globals__ -> the guards' module -> the real
# builtins -> eval, and eval runs a string with pydantic's globals (the real builtins).
from pydantic import computed_field
from nango import create_action


def getter(self):
    return 1


def run(nango, input):
    proxy = computed_field(property(getter))
    step = proxy.setter
    step("fget", name="__getattribute__")          # wrapped = getter (a function of the file)
    step("__globals__", name="__getattribute__")   # wrapped = the file's namespace
    step("__builtins__", name="__getitem__")       # wrapped = the sandbox's builtins table
    step("_getattr_", name="__getitem__")          # wrapped = Guards.getattr (bound)
    step("__func__", name="__getattribute__")      # wrapped = the function Guards.getattr
    step("__globals__", name="__getattribute__")   # wrapped = sandbox.language._guards' globals
    step("__builtins__", name="__getitem__")       # wrapped = the real builtins dict
    step("eval", name="__getitem__")               # wrapped = the real eval
    step(
        "repr((__import__('os').getpid(), type(__import__('sys')._getframe()).__name__, "
        "len(__import__('gc').get_objects()), __import__('os').uname().sysname))",
        name="__call__",
    )
    return proxy.wrapped


action = create_action(description="escape attempt", version="1.0.0", exec=run)
