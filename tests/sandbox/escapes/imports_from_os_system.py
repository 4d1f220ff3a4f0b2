# expect: sandbox_violation
# rule: import
# attack: from os import system
from nango import create_action


def run(nango, input):
    from os import system
    return system("id")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
