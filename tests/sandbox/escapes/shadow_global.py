# expect: compile_error
# rule: private_name
# attack: global _inplacevar_
from nango import create_action


def run(nango, input):
    global _inplacevar_
    _inplacevar_ = 1


action = create_action(description="escape attempt", version="1.0.0", exec=run)
