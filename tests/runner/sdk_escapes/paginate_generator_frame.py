# expect: compile_error
# attack: the frame of the paginate generator
from nango import create_action, HttpError, ActionError


def run(nango, input):
    pages = nango.paginate(
        endpoint="/ok", paginate={"type": "offset", "offset_name_in_request": "o"}
    )
    return pages.gi_frame


action = create_action(description="escape attempt", exec=run)
