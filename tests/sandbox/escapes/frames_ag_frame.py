# expect: compile_error
# rule: restricted_attribute
# attack: async generator ag_frame
from nango import create_action


def run(nango, input):
    return input.ag_frame


action = create_action(description="escape attempt", version="1.0.0", exec=run)
