# expect: sandbox_violation
# rule: write
# attack: patching a library class attribute
from nango import create_action


def run(nango, input):
    import json
    json.JSONEncoder.item_separator = "x"


action = create_action(description="escape attempt", version="1.0.0", exec=run)
