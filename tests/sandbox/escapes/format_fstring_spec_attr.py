# expect: compile_error
# rule: private_name
# attack: dunder inside an f-string format spec
from nango import create_action


def run(nango, input):
    return f"{1:{nango.__class__}}"


action = create_action(description="escape attempt", version="1.0.0", exec=run)
