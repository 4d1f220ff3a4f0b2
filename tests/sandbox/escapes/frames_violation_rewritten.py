# expect: sandbox_violation
# rule: private_attribute
# attack: rewriting the violation exception into a success
from nango import create_action


def run(nango, input):
    try:
        getattr(nango, "__class__")
    except Exception as error:
        error.code = "ok"
    return "ok"


action = create_action(description="escape attempt", version="1.0.0", exec=run)
