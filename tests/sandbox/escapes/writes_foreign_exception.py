# expect: sandbox_violation
# rule: write
# attack: modifying an exception raised by library code
from nango import create_action


def run(nango, input):
    try:
        {}["missing"]
    except KeyError as error:
        error.extra = 1


action = create_action(description="escape attempt", version="1.0.0", exec=run)
