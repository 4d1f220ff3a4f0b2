# expect: compile_error
# rule: string_annotation
# attack: a string as Annotated's type
from nango import create_action

from typing import Annotated
from pydantic import BaseModel


class Issue(BaseModel):
    id: Annotated["os", 1]


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
