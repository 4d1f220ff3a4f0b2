# expect: sandbox_violation
# rule: module_attribute
# attack: urllib.parse.sys
from nango import create_action


def run(nango, input):
    import urllib.parse
    return urllib.parse.sys.modules


action = create_action(description="escape attempt", version="1.0.0", exec=run)
