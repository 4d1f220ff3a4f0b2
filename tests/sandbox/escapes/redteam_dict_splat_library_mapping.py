# expect: sandbox_violation
# rule: restricted_value
# attack: ** into a function's own keyword parameters copies library values out of a mapping
from pydantic import Field
from nango import create_action


def take(**kwargs):
    return kwargs


def run(nango, input):
    copied = take(**Field().metadata_lookup)
    return copied.pop("gt")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
