# expect: sandbox_violation
# attack: private state of a response
from nango import create_action, HttpError, ActionError


def run(nango, input):
    response = nango.get(endpoint="/ok")
    return getattr(response, "_fields")


action = create_action(description="escape attempt", exec=run)
