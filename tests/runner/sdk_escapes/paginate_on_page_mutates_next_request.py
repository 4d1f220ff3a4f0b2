# expect: runtime_error
# attack: on_page writes into the response's config, whose headers dict the next page's request
# shares, a header value (and a method and a base URL) whose own code runs when turned into
# text: the SDK read the options when the call began; what the next request sends must be read
# again (a value of another type refused) so that none of it runs inside the SDK (the attack
# succeeded once the options were read only at the start)
from nango import create_action
from pydantic import BaseModel, computed_field

calls = []
seen = []


class Probe(BaseModel):
    @computed_field
    @property
    def ran(self) -> str:
        calls.append("ran")
        return "x"


def on_page(state):
    config = state["response"].config
    seen.append("page")
    try:
        config["headers"]["x-planted"] = Probe()
        seen.append("headers written")
    except Exception as error:
        seen.append(str(error)[:80])
    try:
        config["method"] = Probe()
    except Exception:
        pass
    try:
        config["base_url_override"] = Probe()
    except Exception:
        pass


def run(nango, input):
    try:
        for page in nango.paginate(
            endpoint="/paged",
            headers={"x-first": "1"},
            paginate={"type": "link", "link_path_in_response_body": "next", "on_page": on_page},
        ):
            pass
    except Exception:
        pass
    if calls:
        return {"ran": len(calls)}
    raise ValueError(f"nothing of the function ran inside the SDK: {seen}")


action = create_action(description="escape attempt", exec=run)
