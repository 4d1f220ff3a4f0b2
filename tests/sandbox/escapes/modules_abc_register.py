# expect: sandbox_violation
# rule: restricted_method
# attack: ABC registration mutates process-wide state
from nango import create_action


def run(nango, input):
    import typing
    typing.Mapping.register(int)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
