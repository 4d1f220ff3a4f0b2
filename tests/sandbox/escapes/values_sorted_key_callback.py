# expect: sandbox_violation
# rule: restricted_value
# attack: sorted(key=) hands library values to a lambda
from pydantic import Field
from nango import create_action


def run(nango, input):
    seen = []
    sorted(Field().metadata_lookup.values(), key=lambda value: seen.append(value) or 0)
    return seen


action = create_action(description="escape attempt", version="1.0.0", exec=run)
