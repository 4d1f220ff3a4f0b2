# expect: sandbox_violation
# rule: restricted_value
# attack: max() picking a library value out of a container
from pydantic import Field
from nango import create_action


def run(nango, input):
    lookup = Field().metadata_lookup
    return max(lookup.values(), key=lambda value: 0)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
