# expect: compile_error
# rule: unsupported_syntax
# attack: try/except* (CVE-2025-22153)
from nango import create_action


def run(nango, input):
    try:
        pass
    except* ValueError:
        pass


action = create_action(description="escape attempt", version="1.0.0", exec=run)
