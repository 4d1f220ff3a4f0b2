# expect: sandbox_violation
# rule: write
# attack: setattr on a module
from nango import create_action


def run(nango, input):
    import re
    setattr(re, "compile", None)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
