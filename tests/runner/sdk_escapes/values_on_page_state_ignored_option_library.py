# expect: sandbox_violation
# attack: on_page receives the response; its config carries a library class back into a callback
# (in provider_config_key, an option the SDK accepts and ignores, so the config keeps it)
from nango import create_action, HttpError, ActionError
from pydantic import Field

seen = []


def on_page(state):
    seen.append(state["response"].config["provider_config_key"]["gt"])


def run(nango, input):
    pages = nango.paginate(
        endpoint="/ok",
        paginate={
            "type": "link",
            "link_path_in_response_body": "next",
            "on_page": on_page,
        },
        provider_config_key=Field().metadata_lookup,
    )
    return [page for page in pages] + seen


action = create_action(description="escape attempt", exec=run)
