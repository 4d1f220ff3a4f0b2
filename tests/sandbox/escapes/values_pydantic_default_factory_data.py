# expect: sandbox_violation
# rule: restricted_value
# attack: a default_factory receives validated data holding a library class
from typing import Any

from pydantic import BaseModel, Field
from nango import create_action


class Row(BaseModel):
    value: Any = None
    first: Any = Field(default_factory=lambda data: data["value"][0])


def run(nango, input):
    return Row(value=list(Field().metadata_lookup.values())).first


action = create_action(description="escape attempt", version="1.0.0", exec=run)
