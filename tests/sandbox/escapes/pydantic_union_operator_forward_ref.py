# expect: sandbox_violation
# rule: string_annotation
# attack: Optional[int] | 'x' builds a ForwardRef without subscription
from nango import create_action

from typing import Optional
from pydantic import BaseModel


kind = Optional[int] | "__import__('os')"


class Issue(BaseModel):
    id: kind


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
