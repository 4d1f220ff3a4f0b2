# expect: runtime_error
# kind: sync
# attack: a batch large enough to go hashes first, of plain dicts whose model's computed field
# returns the SDK object: neither the batch's dump nor the digests may turn it into data
from nango import create_sync
from pydantic import BaseModel, computed_field

held = []


class Thing(BaseModel):
    id: str

    @computed_field
    @property
    def extra(self) -> object:
        return held[0]


def fetch(nango):
    held.append(nango)
    nango.batch_save([{"id": str(n)} for n in range(60)], "Thing")


sync = create_sync(
    description="escape attempt", frequency="every hour", models={"Thing": Thing}, exec=fetch
)
