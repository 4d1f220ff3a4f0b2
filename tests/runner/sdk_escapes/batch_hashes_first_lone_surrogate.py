# expect: runtime_error
# kind: sync
# attack: a batch large enough to go hashes first whose last record holds a lone surrogate:
# text that is not Unicode has no digest; the run fails with the full path's error
from nango import create_sync
from pydantic import BaseModel


class Thing(BaseModel):
    id: str
    name: str


def fetch(nango):
    things = [{"id": str(n), "name": "n"} for n in range(59)]
    things.append({"id": "59", "name": "\ud800"})
    nango.batch_save(things, "Thing")


sync = create_sync(
    description="escape attempt", frequency="every hour", models={"Thing": Thing}, exec=fetch
)
