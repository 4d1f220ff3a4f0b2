# expect: runtime_error
# attack: a record with a lone surrogate sent through batch_save
from nango import create_action, HttpError, ActionError


def run(nango, input):
    nango.batch_save([{"id": "1", "name": "\ud83d"}], "Thing")
    return "saved"


action = create_action(description="escape attempt", exec=run)
