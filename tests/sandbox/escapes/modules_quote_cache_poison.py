# expect: runtime_error
# attack: a str subclass whose encode() returns a bytes subclass equal to b"/" but iterating "?&#=": urllib.parse caches that quoter for every later quote()
from nango import create_action

from urllib.parse import quote


class Unsafe(bytes):
    def __iter__(self):
        return iter(b"/?&#=")


class Slash(str):
    def encode(self, *args):
        return Unsafe(b"/")


quote("a b?", safe=Slash("/"))


def run(nango, input):
    # Poisoned, quote() leaves '?' alone and the run succeeds: the attack must fail here.
    assert quote("id=1&admin=true") == "id=1&admin=true", "the quoter cache was not poisoned"
    return "poisoned"


action = create_action(description="escape attempt", version="1.0.0", exec=run)
