# expect: sandbox_violation
# attack: max() hands back an element of a container of library classes, not a fresh value
from nango import create_action
from pydantic import Field


def run(nango, input):
    classes = list(Field().metadata_lookup.values())
    return str(max(classes, key=lambda c: 0))


action = create_action(description="escape attempt", exec=run)
