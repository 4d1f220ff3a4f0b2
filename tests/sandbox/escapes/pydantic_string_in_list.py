# expect: compile_error
# rule: string_annotation
# attack: a string inside a generic annotation
from nango import create_action

from pydantic import BaseModel


class Issue(BaseModel):
    ids: list["os"]


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
