# expect: compile_error
# attack: the globals of an SDK method
from nango import create_action, HttpError, ActionError


def run(nango, input):
    return nango.log.__func__.__globals__


action = create_action(description="escape attempt", exec=run)
