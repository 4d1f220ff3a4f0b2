# expect: runtime_error
# attack: on_page receives the response; its config carries a library class back into a callback
# (a header's value is read as text or a number before the request is sent: refused there)
from nango import create_action, HttpError, ActionError
from pydantic import Field

seen = []


def on_page(state):
    seen.append(state["response"].config["headers"]["gt"])


def run(nango, input):
    pages = nango.paginate(
        endpoint="/ok",
        paginate={
            "type": "link",
            "link_path_in_response_body": "next",
            "on_page": on_page,
        },
        headers=Field().metadata_lookup,
    )
    return [page for page in pages] + seen


action = create_action(description="escape attempt", exec=run)
