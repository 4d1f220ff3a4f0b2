# expect: compile_error
# rule: reserved_name
# attack: import builtins
from nango import create_action


def run(nango, input):
    import builtins as b
    return b.eval("1")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
