# expect: sandbox_violation
# rule: restricted_value
# attack: a before validator receives a library class as the field value
from typing import Any

from pydantic import BaseModel, Field, field_validator
from nango import create_action


class Row(BaseModel):
    value: Any = None

    @field_validator("value", mode="before")
    @classmethod
    def grab(cls, value, info):
        return value


def run(nango, input):
    classes = list(Field().metadata_lookup.values())
    return Row.model_validate({"value": classes}).value[0]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
