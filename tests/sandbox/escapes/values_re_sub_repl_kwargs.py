# expect: sandbox_violation
# rule: restricted_value
# attack: re.sub(repl=) callback whose default is a library container it then reads
import re

from pydantic import Field
from nango import create_action


def run(nango, input):
    seen = []

    def repl(match, lookup=Field().metadata_lookup):
        seen.append(lookup["ge"])
        return ""

    re.sub("a", repl, "a")
    return seen


action = create_action(description="escape attempt", version="1.0.0", exec=run)
