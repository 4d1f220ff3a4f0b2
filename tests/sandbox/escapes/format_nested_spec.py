# expect: sandbox_violation
# rule: format_string
# attack: attribute traversal hidden in a nested format spec
from nango import create_action


def run(nango, input):
    return "{0:{1.__class__}}".format(1, 2)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
