# expect: sandbox_violation
# rule: write
# attack: replacing json.dumps for later runs
from nango import create_action


def run(nango, input):
    import json
    json.dumps = lambda obj: "x"


action = create_action(description="escape attempt", version="1.0.0", exec=run)
