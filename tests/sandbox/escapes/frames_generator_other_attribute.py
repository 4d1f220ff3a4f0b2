# expect: sandbox_violation
# rule: restricted_attribute
# attack: a generator attribute that is not send/throw/close
from nango import create_action


def run(nango, input):
    gen = (x for x in [1])
    return getattr(gen, "gi_suspended"), getattr(gen, "f_globals")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
