# expect: compile_error
# attack: a typed SDK failure's internals
from nango import create_action, HttpError, ActionError


def run(nango, input):
    try:
        nango.trigger_action("other", {})
    except Exception as err:
        return err.__class__.__init__.__globals__


action = create_action(description="escape attempt", exec=run)
