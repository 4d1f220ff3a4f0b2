# expect: sandbox_violation
# rule: format_string
# attack: format field with item access
from nango import create_action


def run(nango, input):
    return "{0[__builtins__]}".format({"__builtins__": 1})


action = create_action(description="escape attempt", version="1.0.0", exec=run)
