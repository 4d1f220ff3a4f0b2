# expect: sandbox_violation
# rule: string_annotation
# attack: Json[...] with a string type
from nango import create_action

from pydantic import Json
name = "os"
kind = Json[name]


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
