# expect: sandbox_violation
# rule: private_attribute
# attack: __context__ through getattr
from nango import create_action


def run(nango, input):
    try:
        try:
            1 / 0
        except ZeroDivisionError:
            raise ValueError("x")
    except ValueError as error:
        return getattr(error, "__context__")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
