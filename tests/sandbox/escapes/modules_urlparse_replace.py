# expect: compile_error
# rule: private_name
# attack: namedtuple internals of urllib.parse results (_replace, _make, _fields)
from nango import create_action

from urllib.parse import urlparse


def run(nango, input):
    parts = urlparse("https://example.com/a")
    return parts._replace(netloc="evil")._make(parts._fields)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
