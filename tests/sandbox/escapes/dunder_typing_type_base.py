# expect: sandbox_violation
# rule: metaclass
# attack: typing.Type as a base resolves to `type` (__mro_entries__): a metaclass that builds classes with any special method
from nango import create_action

import typing


class Maker(typing.Type):
    pass


Evil = Maker("Evil", (), {"__eq__": lambda self, other: True})


def run(nango, input):
    return Evil() == 1


action = create_action(description="escape attempt", version="1.0.0", exec=run)
