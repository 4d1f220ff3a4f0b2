# expect: sandbox_violation
# rule: restricted_value
# attack: library classes carried in an exception's args
from pydantic import Field
from nango import create_action


def run(nango, input):
    try:
        raise ValueError(*Field().metadata_lookup.values())
    except ValueError as error:
        return error.args[0]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
