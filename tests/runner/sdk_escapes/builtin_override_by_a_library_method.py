# expect: sandbox_violation
# attack: a str subclass whose method is another builtin's (no code of the file): the name checks'
# startswith would answer what endswith does, while getattr reads the text
from nango import create_action


class Name(str):
    startswith = str.endswith


def run(nango, input):
    return getattr((), Name("__class__"))


action = create_action(description="escape attempt", exec=run)
