# expect: sandbox_violation
# rule: write
# attack: attributes on the print function
from nango import create_action


def run(nango, input):
    sink = print
    sink.target = None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
