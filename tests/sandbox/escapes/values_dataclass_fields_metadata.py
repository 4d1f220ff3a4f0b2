# expect: sandbox_violation
# rule: restricted_value
# attack: dataclasses.fields(...) metadata is a mappingproxy
from dataclasses import dataclass, field, fields
from nango import create_action


@dataclass
class Row:
    value: int = field(default=0, metadata={"k": 1})


def run(nango, input):
    return fields(Row)[0].metadata


action = create_action(description="escape attempt", version="1.0.0", exec=run)
