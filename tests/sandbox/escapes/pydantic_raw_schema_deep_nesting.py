# expect: sandbox_violation
# rule: pydantic_raw_schema
# attack: a raw list schema nested 20,000 levels deep (pydantic-core would overflow its stack)
from nango import create_action
from pydantic import BaseModel

deep = {"type": "any"}
for _ in range(20000):
    deep = {"type": "list", "items_schema": deep}


class Thing(BaseModel):
    values: list[deep]


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
