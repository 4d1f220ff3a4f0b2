# expect: sandbox_violation
# rule: import
# attack: pydantic ImportString imports any module by name
from nango import create_action

from pydantic import ImportString


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
