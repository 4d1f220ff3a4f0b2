# expect: sandbox_violation
# rule: string_annotation
# attack: List[name] builds a ForwardRef
from nango import create_action

from typing import List
name = "__import__('os')"
refs = List[name]


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
