# expect: runtime_error
# attack: mutating a module-level set
from nango import create_action


def run(nango, input):
    import hashlib
    hashlib.algorithms_available.add("evil")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
