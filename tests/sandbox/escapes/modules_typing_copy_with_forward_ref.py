# expect: sandbox_violation
# rule: string_annotation
# attack: Optional[int].copy_with(...) makes a ForwardRef, hidden inside conlist(...)
from nango import create_action

from typing import Optional
from pydantic import BaseModel, conlist

alias = conlist(Optional[int].copy_with((int, "__import__('os').getpid()")))


class Model(BaseModel):
    ids: alias


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
