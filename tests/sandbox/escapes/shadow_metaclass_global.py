# expect: compile_error
# rule: private_name
# attack: a module-level __metaclass__
from nango import create_action

__metaclass__ = type


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
