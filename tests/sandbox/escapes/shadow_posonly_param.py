# expect: compile_error
# rule: private_name
# attack: a positional-only parameter named _getattr_ (CVE-2026-55830)
from nango import create_action

def walk(_getattr_, /):
    return ().__len__


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
