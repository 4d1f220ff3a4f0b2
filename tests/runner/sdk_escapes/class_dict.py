# expect: compile_error
# attack: the SDK class namespace
from nango import create_action, HttpError, ActionError


def run(nango, input):
    return type(nango).__dict__


action = create_action(description="escape attempt", exec=run)
