# expect: runtime_error
# attack: a pydantic model whose computed field is function code, given where the SDK takes
# text (an action's name, an id, an include, a header, a request's method, a base URL, a
# response type, a log level, a get_connection override): turning it into text would run the
# field inside the SDK's own step and send what it answers; the SDK must refuse it as not a
# string before anything runs or is sent, so nothing below is ever counted
from nango import create_action
from pydantic import BaseModel, computed_field

calls = []


class Probe(BaseModel):
    @computed_field
    @property
    def ran(self) -> str:
        calls.append("ran")
        return "credentials"


def attempts(nango):
    yield lambda: nango.trigger_action(Probe())
    yield lambda: nango.get_records_by_id([Probe()], "Thing")
    yield lambda: nango.get_integration(include=[Probe()])
    yield lambda: nango.get(endpoint="/a", headers={"x": Probe()})
    yield lambda: nango.proxy(endpoint="/a", method=Probe())
    yield lambda: nango.get(endpoint="/a", base_url_override=Probe())
    yield lambda: nango.get(endpoint="/a", response_type=Probe())
    yield lambda: nango.log("line", {"level": Probe()})
    yield lambda: nango.set_logger(Probe())
    yield lambda: nango.get_connection(Probe())


def run(nango, input):
    refused = 0
    for attempt in attempts(nango):
        try:
            attempt()
        except TypeError:
            refused += 1
        except Exception:
            pass
    if calls:
        return {"ran": len(calls), "refused": refused}
    raise ValueError(f"nothing of the function ran inside the SDK; {refused} refused")


action = create_action(description="escape attempt", exec=run)
