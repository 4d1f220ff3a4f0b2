# expect: runtime_error
# attack: an HttpError subclass overriding payload() with a value that is not JSON
from nango import create_action, HttpError, ActionError


class Loud(HttpError):
    def payload(self):
        return {"status": float("nan"), "self": self}


def run(nango, input):
    try:
        nango.get(endpoint="/missing")
    except HttpError as err:
        raise Loud(err.response)


action = create_action(description="escape attempt", exec=run)
