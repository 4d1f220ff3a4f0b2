# expect: runtime_error
# attack: reading another connection's credentials through the seed's get_connection overrides
from nango import create_action, NangoError


def run(nango, input):
    refused = None
    for integration, connection in (("shop", "c2"), (None, "c2"), ("other", None)):
        try:
            return {"stolen": nango.get_connection(integration, connection)}
        except NangoError as err:
            refused = err
    raise refused


action = create_action(description="escape attempt", exec=run)
