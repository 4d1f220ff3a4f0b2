# expect: sandbox_violation
# rule: restricted_value
# attack: next() of an iterator over library values
from pydantic import Field
from nango import create_action


def run(nango, input):
    return next(iter(Field().metadata_lookup.values()))


action = create_action(description="escape attempt", version="1.0.0", exec=run)
