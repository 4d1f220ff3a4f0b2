# expect: sandbox_violation
# rule: string_annotation
# attack: List.copy_with(("...",)) builds a generic with a string argument, skipping the subscription check
from nango import create_action

from typing import List
from pydantic import BaseModel

alias = List.copy_with(("__import__('os').getpid()",))


class Model(BaseModel):
    ids: alias


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
