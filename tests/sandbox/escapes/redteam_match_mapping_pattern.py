# expect: compile_error
# attack: a mapping pattern takes items out without the subscript guard
from pydantic import Field
from nango import create_action


def run(nango, input):
    match Field().metadata_lookup:
        case {"gt": found}:
            return found


action = create_action(description="escape attempt", version="1.0.0", exec=run)
