# expect: sandbox_violation
# rule: restricted_value
# attack: filter() hands library values to a def
from pydantic import Field
from nango import create_action


def keep(value):
    return True


def run(nango, input):
    return list(filter(keep, Field().metadata_lookup.values()))


action = create_action(description="escape attempt", version="1.0.0", exec=run)
