# expect: compile_error
# rule: string_annotation
# attack: a string in Optional[...]
from nango import create_action

from typing import Optional
from pydantic import BaseModel


class Issue(BaseModel):
    parent: Optional["Issue"] = None


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
