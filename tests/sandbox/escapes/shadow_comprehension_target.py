# expect: compile_error
# rule: private_name
# attack: a comprehension variable named _getitem_
from nango import create_action


def run(nango, input):
    return [_getitem_ for _getitem_ in [1]]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
