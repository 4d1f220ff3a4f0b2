# expect: sandbox_violation
# rule: restricted_value
# attack: dict(zip(...)) of library values, read back by subscript
from pydantic import Field
from nango import create_action


def run(nango, input):
    lookup = Field().metadata_lookup
    paired = dict(zip(range(100), lookup.values()))
    return paired[1]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
