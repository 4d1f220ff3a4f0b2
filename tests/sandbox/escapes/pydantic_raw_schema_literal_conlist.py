# expect: compile_error
# rule: pydantic_raw_schema
# attack: a dict literal given to conlist
from nango import create_action
from pydantic import conlist

Items = conlist({"type": "any"}, min_length=1)


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
