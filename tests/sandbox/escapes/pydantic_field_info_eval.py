# expect: sandbox_violation
# rule: pydantic_method
# attack: FieldInfo.from_annotation(...).apply_typevars_map evaluates the string
from nango import create_action

from pydantic import Field
field = Field().from_annotation("__import__('os').getpid()")
field.apply_typevars_map({}, {}, {})


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
