# expect: sandbox_violation
# rule: format_string
# attack: str.format called unbound
from nango import create_action


def run(nango, input):
    return str.format("{0.__init__.__globals__}", nango.log)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
