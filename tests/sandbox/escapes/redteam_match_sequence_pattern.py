# expect: compile_error
# attack: a sequence pattern unpacks without the iteration guard
from pydantic import Field
from nango import create_action


def run(nango, input):
    match list(Field().metadata_lookup.values()):
        case [first, *rest]:
            return first


action = create_action(description="escape attempt", version="1.0.0", exec=run)
