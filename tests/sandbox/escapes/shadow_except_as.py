# expect: compile_error
# rule: private_name
# attack: except ... as _getattr_
from nango import create_action


def run(nango, input):
    try:
        pass
    except Exception as _getattr_:
        pass


action = create_action(description="escape attempt", version="1.0.0", exec=run)
