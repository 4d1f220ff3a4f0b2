# expect: sandbox_violation
# attack: getattr of a method's __func__
from nango import create_action, HttpError, ActionError


def run(nango, input):
    return getattr(nango.batch_save, "__func__")


action = create_action(description="escape attempt", exec=run)
