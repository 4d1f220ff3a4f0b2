# expect: sandbox_violation
# rule: restricted_value
# attack: zip(*items) transposing library pairs, read by subscript
from pydantic import Field
from nango import create_action


def run(nango, input):
    names, values = zip(*Field().metadata_lookup.items())
    return values[0]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
