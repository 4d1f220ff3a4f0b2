# expect: sandbox_violation
# attack: dataclass() writes __eq__ and __hash__ into a str subclass: its hash is no longer its
# text's, although no method of the file redefines it
from dataclasses import dataclass

from nango import create_action


@dataclass(frozen=True)
class Key(str):
    n: int = 0


def run(nango, input):
    return {Key("from_attributes"): True}


action = create_action(description="escape attempt", exec=run)
