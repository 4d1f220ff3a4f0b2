# expect: compile_error
# rule: private_name
# attack: the enum metaclass's private _simple class keyword
from nango import create_action

from enum import Enum


class Color(Enum, _simple=True):
    red = 1


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
