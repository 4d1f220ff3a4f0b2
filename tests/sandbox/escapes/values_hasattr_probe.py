# expect: sandbox_violation
# rule: restricted_value
# attack: a library class reached through a dict view's iterator passed to a def
from pydantic import Field
from nango import create_action


def first(values):
    for value in values:
        return value


def run(nango, input):
    return first(Field().metadata_lookup.values())


action = create_action(description="escape attempt", version="1.0.0", exec=run)
