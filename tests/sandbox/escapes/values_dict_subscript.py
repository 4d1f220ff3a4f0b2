# expect: sandbox_violation
# rule: restricted_value
# attack: a library class read by subscript from a library dict
from pydantic import Field
from nango import create_action


def run(nango, input):
    return Field().metadata_lookup["gt"]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
