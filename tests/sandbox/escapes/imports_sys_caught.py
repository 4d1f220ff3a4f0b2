# expect: sandbox_violation
# rule: import
# attack: a refused import swallowed by try/except must still fail the run
from nango import create_action


def run(nango, input):
    try:
        import sys
    except Exception:
        sys = None
    return "ok"


action = create_action(description="escape attempt", version="1.0.0", exec=run)
