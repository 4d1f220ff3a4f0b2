# expect: runtime_error
# attack: an ActionError payload generator that raises while the worker converts it
from nango import create_action, HttpError, ActionError


def items():
    yield 1
    raise KeyError("boom")


def run(nango, input):
    raise ActionError(items())


action = create_action(description="escape attempt", exec=run)
