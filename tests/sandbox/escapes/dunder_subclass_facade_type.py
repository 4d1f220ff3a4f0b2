# expect: runtime_error
# attack: subclassing the class of a module facade
from nango import create_action

import json


class Fake(type(json)):
    pass


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
