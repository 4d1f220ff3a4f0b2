# expect: compile_error
# rule: future_import
# attack: from __future__ import annotations turns annotations into strings
from __future__ import annotations
from nango import create_action


def run(nango, input):
    return None


action = create_action(description="x", exec=run)
