# expect: sandbox_violation
# attack: a violation inside an on_page callback that library code calls, caught there
from nango import create_action, HttpError, ActionError


def on_page(state):
    try:
        getattr(state["response"], "__class__")
    except Exception:
        pass


def run(nango, input):
    pages = nango.paginate(
        endpoint="/ok",
        paginate={"type": "link", "link_path_in_response_body": "next", "on_page": on_page},
    )
    return [page for page in pages]


action = create_action(description="escape attempt", exec=run)
