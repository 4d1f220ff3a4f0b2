# expect: runtime_error
# code: resource_exhausted
# attack: a 100-million-digit integer
from nango import create_action


def run(nango, input):
    return 10 ** (10**8)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
