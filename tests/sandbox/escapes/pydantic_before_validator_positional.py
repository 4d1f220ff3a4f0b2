# expect: sandbox_violation
# rule: string_annotation
# attack: BeforeValidator(func, <string>) positionally
from nango import create_action

from pydantic import BeforeValidator
checker = BeforeValidator(str, "__import__('os')")


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
