# expect: compile_error
# rule: restricted_attribute
# attack: with_traceback
from nango import create_action


def run(nango, input):
    return ValueError().with_traceback(None)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
