# expect: compile_error
# rule: private_name
# attack: a fullwidth spelling of a guard name
from nango import create_action


def run(nango, input):
    _ｇｅｔａｔｔｒ_ = getattr


action = create_action(description="escape attempt", version="1.0.0", exec=run)
