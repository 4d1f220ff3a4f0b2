# expect: compile_error
# rule: private_name
# attack: import a private name from the SDK
from nango import create_action

from nango import _client


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
