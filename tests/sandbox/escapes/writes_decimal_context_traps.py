# expect: sandbox_violation
# rule: write
# attack: changing decimal traps (not a writable object)
from nango import create_action


def run(nango, input):
    import decimal
    decimal.getcontext().traps[decimal.InvalidOperation] = False


action = create_action(description="escape attempt", version="1.0.0", exec=run)
