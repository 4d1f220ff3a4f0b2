# expect: compile_error
# rule: private_name
# attack: fullwidth __import__
from nango import create_action


def run(nango, input):
    return __ｉｍｐｏｒｔ__("os")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
