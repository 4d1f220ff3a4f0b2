# expect: sandbox_violation
# rule: import
# attack: import json.decoder
from nango import create_action

import json.decoder


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
