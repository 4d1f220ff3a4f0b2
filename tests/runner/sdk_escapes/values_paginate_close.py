# expect: runtime_error
# attack: close() on the SDK's paginate generator, to run its finally blocks from function code
from nango import create_action, HttpError, ActionError


def run(nango, input):
    pages = nango.paginate(endpoint="/ok", paginate={"type": "link", "link_path_in_response_body": "next"})
    next(pages)
    pages.close()
    return "closed"


action = create_action(description="escape attempt", exec=run)
