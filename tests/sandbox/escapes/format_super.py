# expect: sandbox_violation
# rule: format_string
# attack: str.format through super() of a str subclass
from nango import create_action


def run(nango, input):
    class Text(str):
        def leak(self):
            return super().format(1)


    return Text("{0.__class__}").leak()


action = create_action(description="escape attempt", version="1.0.0", exec=run)
