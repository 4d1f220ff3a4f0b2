# expect: sandbox_violation
# rule: restricted_value
# attack: re.Pattern.groupindex is a mappingproxy
import re
from nango import create_action


def run(nango, input):
    return re.compile("(?P<a>x)").groupindex


action = create_action(description="escape attempt", version="1.0.0", exec=run)
