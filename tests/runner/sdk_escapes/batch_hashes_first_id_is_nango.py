# expect: runtime_error
# kind: sync
# attack: a batch large enough to go hashes first whose model's validator makes each id the
# SDK object: neither the ids sent first nor the digests may carry it, and nothing is saved
from nango import create_sync
from pydantic import BaseModel, field_validator

held = []


class Thing(BaseModel):
    id: str

    @field_validator("id")
    @classmethod
    def swap(cls, value):
        return held[0]


def fetch(nango):
    held.append(nango)
    nango.batch_save([{"id": str(n)} for n in range(60)], "Thing")


sync = create_sync(
    description="escape attempt", frequency="every hour", models={"Thing": Thing}, exec=fetch
)
