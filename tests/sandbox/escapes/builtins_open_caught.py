# expect: sandbox_violation
# rule: forbidden_builtin
# attack: open() swallowed by try/except
from nango import create_action


def run(nango, input):
    try:
        open("/etc/passwd")
    except Exception:
        pass
    return "ok"


action = create_action(description="escape attempt", version="1.0.0", exec=run)
