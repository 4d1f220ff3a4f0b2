# expect: sandbox_violation
# rule: restricted_value
# attack: max() hands back an element of a container it was given, not a fresh value
from pydantic import Field
from nango import create_action


def run(nango, input):
    classes = list(Field().metadata_lookup.values())
    return max(classes, key=lambda c: 0)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
