# expect: runtime_error
# attack: re.RegexFlag is a real (unguarded) enum: its functional API would define special methods
from nango import create_action

import re

Evil = re.RegexFlag("Evil", [("__eq__", 1)])


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
