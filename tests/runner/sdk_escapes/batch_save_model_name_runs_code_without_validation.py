# expect: runtime_error
# kind: sync
# validation: off
# attack: with validation off, a batch large enough to go hashes first named by a model whose
# computed field holds the SDK object: the SDK's own code turning the name into text would run
# that field and carry its text away; the name must be refused as not a string, nothing sent
from nango import create_sync
from pydantic import BaseModel, computed_field

held = []


class Name(BaseModel):
    label: str = "Thing"

    @computed_field
    @property
    def smuggled(self) -> str:
        held.append("ran")
        return str(held)


def fetch(nango):
    held.append(nango)
    nango.batch_save([{"id": str(n)} for n in range(60)], Name())


sync = create_sync(description="escape attempt", frequency="every hour", exec=fetch)
