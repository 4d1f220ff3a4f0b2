# expect: sandbox_violation
# rule: restricted_value
# attack: a library getset descriptor read from a class
from datetime import datetime
from nango import create_action


def run(nango, input):
    return datetime.year


action = create_action(description="escape attempt", version="1.0.0", exec=run)
