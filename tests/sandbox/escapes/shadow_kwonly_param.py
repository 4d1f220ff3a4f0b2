# expect: compile_error
# rule: private_name
# attack: a keyword-only parameter named _getitem_
from nango import create_action

def walk(*, _getitem_=None):
    return 1


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
