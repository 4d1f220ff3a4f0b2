# expect: sandbox_violation
# rule: private_attribute
# attack: __globals__ through getattr
from nango import create_action


def run(nango, input):
    return getattr(run, "__globals__")["__builtins__"]


action = create_action(description="escape attempt", version="1.0.0", exec=run)
