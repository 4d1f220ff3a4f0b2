# expect: compile_error
# rule: private_name
# attack: a class hooking pydantic schema generation (handler.generate_schema evaluates strings)
from nango import create_action

class Evil:
    @classmethod
    def __get_pydantic_core_schema__(cls, source, handler):
        return handler.generate_schema("__import__('os')")


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
