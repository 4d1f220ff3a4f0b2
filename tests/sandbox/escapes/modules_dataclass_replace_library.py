# expect: sandbox_violation
# rule: dataclass
# attack: dataclasses.replace on a pydantic decorator builds one with a string type
from nango import create_action

from dataclasses import replace
from pydantic import field_validator


def check(cls, value):
    return value


proxy = field_validator("id")(classmethod(check))
evil = replace(proxy.decorator_info, json_schema_input_type="__import__('os')")


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
