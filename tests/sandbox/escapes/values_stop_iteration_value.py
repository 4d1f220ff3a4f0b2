# expect: sandbox_violation
# rule: restricted_value
# attack: a library class as StopIteration.value
from pydantic import Field
from nango import create_action


def run(nango, input):
    lookup = Field().metadata_lookup
    try:
        raise StopIteration(lookup)
    except StopIteration as error:
        return error.value["gt"]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
