# expect: sandbox_violation
# rule: restricted_attribute
# attack: AttributeError.obj leaks the object a lookup failed on (CVE-2024-47532)
from nango import create_action


def run(nango, input):
    try:
        nango.does_not_exist
    except AttributeError as error:
        return error.obj


action = create_action(description="escape attempt", version="1.0.0", exec=run)
