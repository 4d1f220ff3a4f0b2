# expect: compile_error
# rule: private_name
# attack: with ... as _print_
from nango import create_action


def run(nango, input):
    import decimal
    with decimal.localcontext() as _print_:
        pass


action = create_action(description="escape attempt", version="1.0.0", exec=run)
