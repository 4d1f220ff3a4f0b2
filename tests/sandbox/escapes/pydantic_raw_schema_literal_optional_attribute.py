# expect: compile_error
# rule: pydantic_raw_schema
# attack: a dict literal inside typing.Optional[...] in a type alias
from nango import create_action
import typing

Alias = typing.Optional[{"type": "any"}]


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
