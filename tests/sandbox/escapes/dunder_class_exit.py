# expect: compile_error
# rule: private_name
# attack: a class defining __exit__ (receives a traceback)
from nango import create_action

class Catcher:
    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        return True


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
