# expect: compile_error
# rule: private_name
# attack: the classic ().__class__.__bases__[0].__subclasses__() walk
from nango import create_action


def run(nango, input):
    return ().__class__.__bases__[0].__subclasses__()


action = create_action(description="escape attempt", version="1.0.0", exec=run)
