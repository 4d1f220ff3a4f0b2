# expect: sandbox_violation
# rule: restricted_value
# attack: star unpacking of library values
from pydantic import Field
from nango import create_action


def run(nango, input):
    first, *rest = Field().metadata_lookup.values()
    return rest


action = create_action(description="escape attempt", version="1.0.0", exec=run)
