# expect: compile_error
# rule: private_name
# attack: writing a private attribute of the SDK object
from nango import create_action


def run(nango, input):
    nango._secret = None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
