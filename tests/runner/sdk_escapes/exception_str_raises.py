# expect: runtime_error
# attack: an exception whose __str__ raises while the worker reports it
from nango import create_action, HttpError, ActionError


class Unprintable(Exception):
    def __str__(self):
        raise KeyError("no message")


def run(nango, input):
    raise Unprintable()


action = create_action(description="escape attempt", exec=run)
