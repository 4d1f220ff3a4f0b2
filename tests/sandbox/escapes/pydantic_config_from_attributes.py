# expect: sandbox_violation
# rule: pydantic_config
# attack: ConfigDict(from_attributes=True)
from nango import create_action

from pydantic import ConfigDict
config = ConfigDict(from_attributes=True)


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
