# expect: sandbox_violation
# rule: restricted_value
# attack: a library class in the tuple dict.popitem() returns
from pydantic import Field
from nango import create_action


def run(nango, input):
    copy = dict(Field().metadata_lookup)
    name, value = copy.popitem()
    return value


action = create_action(description="escape attempt", version="1.0.0", exec=run)
