# expect: runtime_error
# attack: reach the loader of compiled programs through the nango module
import nango
from nango import create_action


def run(nango_object, input):
    loader = getattr(nango, "program_" + "from_codes")
    return str(loader({}, "x.py", {}))


action = create_action(description="escape attempt", exec=run)
