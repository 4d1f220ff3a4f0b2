# expect: sandbox_violation
# rule: attribute_name
# attack: a non-normalised attribute name as a string
from nango import create_action


def run(nango, input):
    return getattr((), "＿＿class＿＿")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
