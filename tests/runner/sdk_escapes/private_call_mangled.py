# expect: compile_error
# attack: name-mangled channel
from nango import create_action, HttpError, ActionError


def run(nango, input):
    return nango._Nango__call


action = create_action(description="escape attempt", exec=run)
