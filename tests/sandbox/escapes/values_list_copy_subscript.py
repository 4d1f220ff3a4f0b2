# expect: sandbox_violation
# rule: restricted_value
# attack: library values copied into a plain list, then subscripted
from pydantic import Field
from nango import create_action


def run(nango, input):
    return list(Field().metadata_lookup.values())[0]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
