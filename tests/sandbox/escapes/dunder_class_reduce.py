# expect: compile_error
# rule: private_name
# attack: a class defining __reduce__
from nango import create_action

class Thing:
    def __reduce__(self):
        return (print, ())


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
