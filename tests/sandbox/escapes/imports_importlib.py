# expect: sandbox_violation
# rule: import
# attack: importlib.import_module
from nango import create_action


def run(nango, input):
    import importlib
    return importlib.import_module("os")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
