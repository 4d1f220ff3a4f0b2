# expect: sandbox_violation
# rule: restricted_value
# attack: type() of a library object is a token, not the class; the token's class cannot be reached
from pydantic import Field
from nango import create_action


def run(nango, input):
    token = type(Field())
    return [token, Field().metadata_lookup["multiple_of"]]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
