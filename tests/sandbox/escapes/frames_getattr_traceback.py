# expect: sandbox_violation
# rule: private_attribute
# attack: __traceback__ through getattr
from nango import create_action


def run(nango, input):
    try:
        1 / 0
    except ZeroDivisionError as error:
        return getattr(error, "__traceback__")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
