# expect: sandbox_violation
# rule: type_call
# attack: type(name, bases, dict) with a dunder in the namespace
from nango import create_action


def run(nango, input):
    X = type("X", (), {"__getattr__": lambda self, name: name})
    return X


action = create_action(description="escape attempt", version="1.0.0", exec=run)
