# expect: sandbox_violation
# attack: catch a violation, then raise a NangoError of one's own with another error type
from nango import create_action, HttpError, ActionError, NangoError


def run(nango, input):
    try:
        vars(nango)
    except Exception:
        pass
    raise NangoError("script_http_error", "the API failed")


action = create_action(description="escape attempt", exec=run)
