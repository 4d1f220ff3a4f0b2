# expect: sandbox_violation
# rule: attribute_name
# attack: a ligature in an attribute name string
from nango import create_action


def run(nango, input):
    return getattr(run, "__ﬁle__")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
