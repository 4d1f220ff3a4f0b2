# expect: compile_error
# rule: unsupported_syntax
# attack: async generator
from nango import create_action

async def pages():
    yield 1


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
