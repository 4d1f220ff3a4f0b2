# expect: compile_error
# attack: from a response to its class internals
from nango import create_action, HttpError, ActionError


def run(nango, input):
    response = nango.get(endpoint="/ok")
    return response.__class__.__mro__


action = create_action(description="escape attempt", exec=run)
