# expect: sandbox_violation
# rule: metaclass
# attack: type[int] as a base (typing.Type[int]) makes a metaclass; its classes may define __getattr__
from nango import create_action


class Maker(type[int]):
    pass


def run(nango, input):
    Evil = Maker("Evil", (), {"__getattr__": lambda self, name: name})
    return Evil().anything


action = create_action(description="escape attempt", version="1.0.0", exec=run)
