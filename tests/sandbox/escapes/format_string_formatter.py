# expect: sandbox_violation
# rule: import
# attack: string.Formatter (CVE-2026-76825)
from nango import create_action


def run(nango, input):
    from string import Formatter
    return Formatter().format("{0.__class__}", 1)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
