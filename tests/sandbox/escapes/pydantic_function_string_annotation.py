# expect: compile_error
# rule: string_annotation
# attack: a string annotation on a function argument
from nango import create_action

def mapper(value: "__import__('os')"):
    return value


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
