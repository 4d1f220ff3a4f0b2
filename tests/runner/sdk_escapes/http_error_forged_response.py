# expect: runtime_error
# attack: an HttpError around a forged response whose headers raise when the worker reads them
from nango import create_action, HttpError, ActionError


class Headers:
    def keys(self):
        raise KeyError("headers")


class Forged:
    status = 500
    request = {"method": "GET", "url": "https://example.com"}
    headers = Headers()
    data = None


def run(nango, input):
    raise HttpError(Forged())


action = create_action(description="escape attempt", exec=run)
