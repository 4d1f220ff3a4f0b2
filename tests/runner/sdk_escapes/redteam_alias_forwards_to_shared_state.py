# expect: sandbox_violation
# attack: (fifth red team) a typing alias passes a name it does not have on to its origin, and
# copy_with makes any object the origin: pydantic's shared FieldInfo.metadata_lookup came back as
# the real, writable dict (every later Field(gt=...) then called a function of the file); the
# guards now decide on the object the read reaches
# attack: typing.Annotated[int, 1].copy_with((obj,)) makes an alias whose __origin__ is any held
# object (no type check in _AnnotatedAlias.copy_with); the alias's __getattr__ forwards public
# names to that origin. The attribute guard's _read_only decides "shared library state" from
# type(obj).__mro__ of the object it was asked about (the alias), so a class-level library
# container read through the alias comes back as the real, writable dict.
# Here: pydantic's FieldInfo.metadata_lookup (consulted by every later Field(...) in the process)
# is rewritten, so Field(gt=...) anywhere calls a callable of the function's choice and pydantic
# consumes its result unchecked as field metadata.
import typing
from pydantic import BaseModel, Field
from nango import create_action


def marker(value):
    return "CHANGED"


def run(nango, input):
    out = {}
    fi = Field()
    out["direct_type"] = repr(type(fi.metadata_lookup))
    alias = typing.Annotated[int, 1].copy_with((fi,))
    lookup = alias.metadata_lookup
    out["via_alias_type"] = repr(type(lookup))
    lookup["gt"] = marker
    del lookup["lt"]
    out["Field(gt=5).metadata"] = repr(Field(gt=5).metadata)
    out["Field(lt=5).metadata"] = repr(Field(lt=5).metadata)

    class Later(BaseModel):
        v: int = Field(gt=0)

    out["Later.model_fields"] = repr(Later.model_fields["v"].metadata)
    return out


action = create_action(description="alias forwards to shared library state", exec=run)
