# expect: runtime_error
# kind: sync
# attack: plain dicts saved against a sync's model whose computed field returns the SDK object:
# the batch's one dump must not turn it into data (nor pass it anywhere)
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
    nango.batch_save([{"id": "1"}, {"id": "2"}], "Thing")


sync = create_sync(
    description="escape attempt", frequency="every hour", models={"Thing": Thing}, exec=fetch
)
