# expect: sandbox_violation
# rule: enum_functional_api
# attack: the Enum functional API defines dunders a class statement may not
from nango import create_action


def run(nango, input):
    from enum import Enum
    return Enum("Evil", [("__get_pydantic_core_schema__", 1)])


action = create_action(description="escape attempt", version="1.0.0", exec=run)
