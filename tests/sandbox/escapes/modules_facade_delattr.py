# expect: sandbox_violation
# rule: write
# attack: deleting a module attribute
from nango import create_action


def run(nango, input):
    import json
    del json.loads


action = create_action(description="escape attempt", version="1.0.0", exec=run)
