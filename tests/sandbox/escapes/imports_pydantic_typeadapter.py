# expect: sandbox_violation
# rule: import
# attack: TypeAdapter evaluates string types with frame namespaces
from nango import create_action

from pydantic import TypeAdapter


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
