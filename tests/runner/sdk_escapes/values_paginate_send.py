# expect: runtime_error
# attack: send() into the SDK's paginate generator (function code holds an iteration-only facade)
from nango import create_action, HttpError, ActionError


def run(nango, input):
    pages = nango.paginate(endpoint="/ok", paginate={"type": "link", "link_path_in_response_body": "next"})
    return pages.send(None)


action = create_action(description="escape attempt", exec=run)
