# expect: runtime_error
# attack: json.dumps of a self-referencing list with check_circular=False recurses in C
from nango import create_action

import json


def run(nango, input):
    cycle = []
    cycle.append(cycle)
    return json.dumps(cycle, check_circular=False)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
