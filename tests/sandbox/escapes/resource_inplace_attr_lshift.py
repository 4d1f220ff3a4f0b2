# expect: runtime_error
# code: resource_exhausted
# attack: in-place shift on an attribute
from nango import create_action


def run(nango, input):
    class Box:
        def __init__(self):
            self.value = 1


    box = Box()
    box.value <<= 10**10
    return box.value


action = create_action(description="escape attempt", version="1.0.0", exec=run)
