# expect: sandbox_violation
# attack: load bytecode that skipped the policy (marshal, as compiled programs travel)
from nango import create_action


def run(nango, input):
    import marshal
    return marshal.loads(b"\xe3")


action = create_action(description="escape attempt", exec=run)
