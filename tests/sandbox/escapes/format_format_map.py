# expect: sandbox_violation
# rule: format_string
# attack: str.format_map attribute traversal
from nango import create_action


def run(nango, input):
    return "{x.__class__}".format_map({"x": 1})


action = create_action(description="escape attempt", version="1.0.0", exec=run)
