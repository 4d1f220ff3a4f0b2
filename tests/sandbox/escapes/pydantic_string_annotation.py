# expect: compile_error
# rule: string_annotation
# attack: a string annotation pydantic would eval
from nango import create_action

from pydantic import BaseModel


class Issue(BaseModel):
    id: "__import__('os').system('id')"


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
