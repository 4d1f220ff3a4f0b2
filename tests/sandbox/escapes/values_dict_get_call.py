# expect: sandbox_violation
# rule: restricted_value
# attack: a library class returned by dict.get (a call result)
from pydantic import Field
from nango import create_action


def run(nango, input):
    return Field().metadata_lookup.get("gt")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
