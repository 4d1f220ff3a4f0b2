# expect: sandbox_violation
# rule: string_annotation
# attack: field_serializer(return_type=<string>)
from nango import create_action

from pydantic import field_serializer
serializer = field_serializer("id", return_type="__import__('os')")


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
