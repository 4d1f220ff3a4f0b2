# expect: sandbox_violation
# rule: module_attribute
# attack: typing.sys leads out of the allow-list
from nango import create_action


def run(nango, input):
    import typing
    return typing.sys


action = create_action(description="escape attempt", version="1.0.0", exec=run)
