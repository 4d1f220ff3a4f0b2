# expect: sandbox_violation
# rule: restricted_value
# attack: map() hands library values to a lambda
from pydantic import Field
from nango import create_action


def run(nango, input):
    return list(map(lambda value: value, Field().metadata_lookup.values()))


action = create_action(description="escape attempt", version="1.0.0", exec=run)
