# expect: runtime_error
# attack: unbounded recursion
from nango import create_action


def run(nango, input):
    def down(n):
        return down(n + 1)


    return down(0)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
