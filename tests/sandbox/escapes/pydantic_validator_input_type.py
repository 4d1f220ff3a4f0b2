# expect: sandbox_violation
# rule: string_annotation
# attack: field_validator(json_schema_input_type=<string>)
from nango import create_action

from pydantic import field_validator
decorator = field_validator("id", mode="before", json_schema_input_type="os")


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
