# expect: runtime_error
# attack: a NangoError built with fields of the wrong types (message not a string)
from nango import create_action, HttpError, ActionError, NangoError


def run(nango, input):
    raise NangoError("script_internal_error", 12, payload=object(), file=3)


action = create_action(description="escape attempt", exec=run)
