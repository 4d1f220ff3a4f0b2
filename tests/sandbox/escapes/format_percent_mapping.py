# expect: runtime_error
# attack: %-formatting with a dunder key
from nango import create_action


def run(nango, input):
    return "%(__class__)s" % nango


action = create_action(description="escape attempt", version="1.0.0", exec=run)
