# expect: sandbox_violation
# attack: a raw schema nested 20,000 deep in a record model (pydantic-core would overflow its stack)
from nango import create_action
from pydantic import BaseModel

deep = {"type": "any"}
for _ in range(20000):
    deep = {"type": "list", "items_schema": deep}


def run(nango, input):
    class Thing(BaseModel):
        id: str
        values: list[deep] = []

    nango.batch_save([Thing(id="1")], "Thing")
    return "saved"


action = create_action(description="escape attempt", exec=run)
