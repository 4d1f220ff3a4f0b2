# expect: runtime_error
# attack: mutating pydantic's shared FieldInfo.metadata_lookup through a method (no write guard involved)
from nango import create_action

from pydantic import BaseModel, Field


class Model(BaseModel):
    n: int = Field(default=1, gt=0)


Model.model_fields["n"].metadata_lookup.clear()


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
