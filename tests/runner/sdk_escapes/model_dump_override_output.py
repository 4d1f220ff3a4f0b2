# expect: runtime_error
# attack: an output model overriding model_dump to return something that is not JSON
from nango import create_action, HttpError, ActionError
from pydantic import BaseModel


class Out(BaseModel):
    ok: bool = True

    def model_dump(self, **options):
        return {"ok": float("inf"), "self": self}


def run(nango, input):
    return Out()


action = create_action(description="escape attempt", exec=run)
