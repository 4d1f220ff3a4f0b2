# expect: runtime_error
# attack: format() builtin with a traversal spec
from nango import create_action


def run(nango, input):
    return format(nango, "{0.__class__}")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
