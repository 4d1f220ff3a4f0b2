# expect: compile_error
# attack: a match mapping pattern takes library values out of a dict without the subscript guard
from nango import create_action
from pydantic import Field


def run(nango, input):
    match Field().metadata_lookup:
        case {"gt": found}:
            return found


action = create_action(description="escape attempt", exec=run)
