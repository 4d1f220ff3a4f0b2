# expect: sandbox_violation
# rule: forbidden_builtin
# attack: open() a host file
from nango import create_action


def run(nango, input):
    return open("/etc/passwd").read()


action = create_action(description="escape attempt", version="1.0.0", exec=run)
