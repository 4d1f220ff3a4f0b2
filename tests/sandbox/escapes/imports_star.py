# expect: compile_error
# rule: star_import
# attack: star import
from nango import create_action

from json import *


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
