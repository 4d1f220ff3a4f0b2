# expect: sandbox_violation
# rule: string_annotation
# attack: computed_field(return_type=<string>)
from nango import create_action

from pydantic import computed_field
decorator = computed_field(return_type="__import__('os')")


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
