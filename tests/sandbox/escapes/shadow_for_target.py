# expect: compile_error
# rule: private_name
# attack: a loop variable named _getiter_
from nango import create_action


def run(nango, input):
    for _getiter_ in [1]:
        pass


action = create_action(description="escape attempt", version="1.0.0", exec=run)
