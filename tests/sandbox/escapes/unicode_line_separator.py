# expect: compile_error
# rule: syntax
# attack: a U+2028 line separator between statements
from nango import create_action


def run(nango, input):
    x = 1     import os


action = create_action(description="escape attempt", version="1.0.0", exec=run)
