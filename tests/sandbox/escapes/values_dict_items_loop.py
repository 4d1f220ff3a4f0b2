# expect: sandbox_violation
# rule: restricted_value
# attack: library classes taken out of a library dict with .items() in a for loop
from pydantic import Field
from nango import create_action


def run(nango, input):
    found = []
    for name, value in Field().metadata_lookup.items():
        found.append(value)
    return found


action = create_action(description="escape attempt", version="1.0.0", exec=run)
