# expect: sandbox_violation
# rule: restricted_value
# attack: library classes carried in an exception's args, iterated
from pydantic import Field
from nango import create_action


def run(nango, input):
    try:
        raise KeyError(*Field().metadata_lookup.values())
    except KeyError as error:
        return [part for part in error.args]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
