# expect: compile_error
# rule: private_name
# attack: from ... import ... as _getitem_
from nango import create_action

from json import loads as _getitem_


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
