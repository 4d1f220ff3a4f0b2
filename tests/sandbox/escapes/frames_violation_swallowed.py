# expect: sandbox_violation
# rule: private_attribute
# attack: a guard violation caught and ignored must still fail the run
from nango import create_action


def run(nango, input):
    try:
        getattr(nango, "__class__")
    except Exception:
        pass
    return "ok"


action = create_action(description="escape attempt", version="1.0.0", exec=run)
