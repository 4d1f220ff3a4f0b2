# expect: compile_error
# rule: private_name
# attack: defining _write_
from nango import create_action

def _write_(obj):
    return obj


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
