# expect: compile_error
# rule: restricted_attribute
# attack: type(x).mro() hands out object
from nango import create_action


def run(nango, input):
    return type(()).mro()


action = create_action(description="escape attempt", version="1.0.0", exec=run)
