# expect: sandbox_violation
# rule: restricted_value
# attack: library classes taken out of a library dict in a comprehension
from pydantic import Field
from nango import create_action


def run(nango, input):
    return [value for value in Field().metadata_lookup.values()]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
