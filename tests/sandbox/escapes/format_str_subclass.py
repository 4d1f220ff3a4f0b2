# expect: sandbox_violation
# rule: format_string
# attack: format on a str subclass
from nango import create_action


def run(nango, input):
    class Text(str):
        pass


    return Text("{0.__class__}").format(1)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
