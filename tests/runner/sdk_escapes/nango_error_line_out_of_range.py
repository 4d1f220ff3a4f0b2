# expect: runtime_error
# attack: a NangoError with a line beyond int32: the runner's RunResponse could not carry it
from nango import create_action, HttpError, ActionError, NangoError


def run(nango, input):
    raise NangoError("script_internal_error", "m", file="run.py", line=2**40)


action = create_action(description="escape attempt", exec=run)
