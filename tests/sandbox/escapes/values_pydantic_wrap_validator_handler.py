# expect: sandbox_violation
# rule: restricted_value
# attack: a wrap validator hands a library class to its handler and reads the result
from typing import Any

from pydantic import BaseModel, Field, field_validator
from nango import create_action


class Row(BaseModel):
    value: Any = None

    @field_validator("value", mode="wrap")
    @classmethod
    def grab(cls, value, handler, info):
        result = handler(value)
        return [result[0]]


def run(nango, input):
    return Row(value=list(Field().metadata_lookup.values())).value


action = create_action(description="escape attempt", version="1.0.0", exec=run)
