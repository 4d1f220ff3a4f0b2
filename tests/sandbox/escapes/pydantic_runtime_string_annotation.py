# expect: sandbox_violation
# rule: string_annotation
# attack: a string annotation built at run time
from nango import create_action

from pydantic import BaseModel


kind = "__import__('os').getpid()"


class Issue(BaseModel):
    id: kind


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
