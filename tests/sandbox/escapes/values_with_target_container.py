# expect: sandbox_violation
# rule: restricted_value
# attack: what a library context manager binds, read further (localcontext flags keys)
from decimal import localcontext

from pydantic import Field
from nango import create_action


def run(nango, input):
    with localcontext() as context:
        lookup = Field().metadata_lookup
        return [context.prec, lookup["lt"]]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
