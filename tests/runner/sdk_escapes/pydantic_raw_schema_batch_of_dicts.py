# expect: sandbox_violation
# kind: sync
# attack: a sync's model with a dict as a type, meant to be a raw schema once filled, and plain
# dicts saved against it, which the SDK validates all at once (an adapter of a list of the
# model): refused where pydantic builds the schema, before any record is validated
from nango import create_sync
from pydantic import BaseModel

late = {}


class Thing(BaseModel):
    id: str
    value: dict[str, late] = {}


def fetch(nango):
    late["type"] = "model"
    late["cls"] = object
    late["schema"] = {"type": "model-fields", "fields": {}, "from_attributes": True}
    nango.batch_save([{"id": "1", "value": {"a": nango}}, {"id": "2"}], "Thing")


sync = create_sync(
    description="escape attempt", frequency="every hour", models={"Thing": Thing}, exec=fetch
)
