# expect: compile_error
# attack: a bound method's __self__
from nango import create_action, HttpError, ActionError


def run(nango, input):
    return nango.get.__self__


action = create_action(description="escape attempt", exec=run)
