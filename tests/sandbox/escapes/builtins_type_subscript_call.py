# expect: runtime_error
# attack: type[int] is a GenericAlias that would call type()
from nango import create_action


def run(nango, input):
    return type[int]("X", (), {"__slots__": ()})


action = create_action(description="escape attempt", version="1.0.0", exec=run)
