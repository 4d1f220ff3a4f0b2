# expect: compile_error
# rule: syntax
# attack: unpacking in a comprehension iterates without _getiter_ (RestrictedPython 8.5)
from nango import create_action


def run(nango, input):
    return [*row for row in [[1], [2]]]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
