# expect: sandbox_violation
# rule: string_annotation
# attack: a library dataclass's field type is a string (from __future__ annotations there); used as an annotation
from nango import create_action

import dataclasses
from pydantic import AliasPath, BaseModel

kind = dataclasses.fields(AliasPath)[0].type


class Model(BaseModel):
    path: kind


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
