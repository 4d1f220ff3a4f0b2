# expect: sandbox_violation
# attack: rewriting an SDK response
from nango import create_action, HttpError, ActionError


def run(nango, input):
    try:
        nango.get(endpoint="/missing")
    except HttpError as err:
        err.response.status = 200
        return "changed"


action = create_action(description="escape attempt", exec=run)
