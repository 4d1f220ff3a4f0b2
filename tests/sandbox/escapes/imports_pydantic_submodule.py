# expect: sandbox_violation
# rule: import
# attack: import a pydantic submodule (pydantic.main has sys)
from nango import create_action

import pydantic.main


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
