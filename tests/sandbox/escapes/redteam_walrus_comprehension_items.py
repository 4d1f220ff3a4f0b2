# expect: sandbox_violation
# rule: restricted_value
# attack: an assignment expression inside a comprehension keeps a library class past the loop
from pydantic import Field
from nango import create_action


def run(nango, input):
    [(kept := value) for value in Field().metadata_lookup.values()]
    return kept


action = create_action(description="escape attempt", version="1.0.0", exec=run)
