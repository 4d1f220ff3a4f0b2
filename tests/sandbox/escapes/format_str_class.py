# expect: sandbox_violation
# rule: format_string
# attack: str.format attribute traversal (CVE-2023-41039)
from nango import create_action


def run(nango, input):
    return "{0.__class__}".format(1)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
