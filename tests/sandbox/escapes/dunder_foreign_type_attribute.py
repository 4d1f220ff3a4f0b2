# expect: runtime_error
# attack: attributes of the class of a library object
from nango import create_action


def run(nango, input):
    from pydantic import Field
    cls = type(Field())
    return cls.from_annotation("__import__('os')")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
