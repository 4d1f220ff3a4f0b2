# expect: sandbox_violation
# rule: write
# attack: Field().metadata_lookup is pydantic's class-level table: replacing "gt" runs this code in every later load's Field(gt=...)
from nango import create_action

from pydantic import Field

stolen = []


def spy(value):
    stolen.append(value)
    return None


Field().metadata_lookup["gt"] = spy


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
