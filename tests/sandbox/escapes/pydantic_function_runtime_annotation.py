# expect: sandbox_violation
# rule: string_annotation
# attack: a string return annotation built at run time
from nango import create_action

kind = "__import__('os')"


def mapper(value) -> kind:
    return value


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
