# expect: sandbox_violation
# rule: dataclass
# attack: dataclass() rewriting a library class
from nango import create_action


def run(nango, input):
    import json
    from dataclasses import dataclass
    return dataclass(json.JSONEncoder)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
