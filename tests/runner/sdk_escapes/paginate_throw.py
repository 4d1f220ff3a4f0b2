# expect: runtime_error
# attack: throwing into the SDK's paginate generator (its frame is library code)
from nango import create_action, HttpError, ActionError


def run(nango, input):
    pages = nango.paginate(endpoint="/ok", paginate={"type": "link", "link_path_in_response_body": "next"})
    next(pages)
    return pages.throw(LookupError("inside the SDK"))


action = create_action(description="escape attempt", exec=run)
