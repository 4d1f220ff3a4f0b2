# expect: sandbox_violation
# rule: private_attribute
# attack: getattr applied by map() (library code calling the builtin, not the compiled attribute access)
from nango import create_action


def run(nango, input):
    return list(map(getattr, [nango], ["_secret"]))


action = create_action(description="escape attempt", version="1.0.0", exec=run)
