# expect: sandbox_violation
# rule: module_attribute
# attack: json.scanner leads out of the allow-list
from nango import create_action


def run(nango, input):
    import json
    return json.scanner


action = create_action(description="escape attempt", version="1.0.0", exec=run)
