# expect: sandbox_violation
# rule: restricted_value
# attack: iter(callable, sentinel) pulling library values through a lambda
from pydantic import Field
from nango import create_action


def run(nango, input):
    values = iter(Field().metadata_lookup.values())
    return [value for value in iter(lambda: next(values), None)]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
