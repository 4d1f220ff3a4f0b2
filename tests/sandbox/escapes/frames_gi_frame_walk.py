# expect: compile_error
# rule: restricted_attribute
# attack: generator gi_frame.f_back walk to f_globals (CVE-2023-37271)
from nango import create_action


def run(nango, input):
    gen = (x for x in [1])
    return gen.gi_frame.f_back.f_back.f_globals


action = create_action(description="escape attempt", version="1.0.0", exec=run)
