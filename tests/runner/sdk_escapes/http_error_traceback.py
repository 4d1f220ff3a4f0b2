# expect: compile_error
# attack: the traceback of an SDK error
from nango import create_action, HttpError, ActionError


def run(nango, input):
    try:
        nango.get(endpoint="/missing")
    except HttpError as err:
        return err.__traceback__.tb_frame.f_globals


action = create_action(description="escape attempt", exec=run)
