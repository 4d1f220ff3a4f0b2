"""A ``.env`` file may name the server only for a key it holds too.

Client commands read ``CORRAL_*`` from a ``.env`` file in the current folder, as the seeds' CLI
does. A folder is not always the user's own (a cloned repository, an unpacked archive): a planted
``.env`` that names a server (or the CA that vouches for it) would receive the secret key the
user keeps in their environment. So a server or CA that only the file gives is used only with a
key from the same file; otherwise the command stops and says so.
"""

from __future__ import annotations

import os
import pathlib

import click
from dotenv import dotenv_values

DOTENV = ".env"
KEY = "CORRAL_SECRET_KEY"
ROUTING = ("CORRAL_SERVER", "CORRAL_TLS_CA")


def check_dotenv_trust(*, key_given: bool, server_given: bool, ca_given: bool) -> None:
    """Refuses a server or CA from ``.env`` when the key comes from elsewhere (an option or the
    environment).

    Raises:
        click.UsageError: naming the settings and what to do.
    """
    path = pathlib.Path(DOTENV)
    if not path.is_file():
        return
    in_file = {k for k, v in dotenv_values(path).items() if v is not None and k not in os.environ}
    key_from_file = KEY in in_file and not key_given
    given = {"CORRAL_SERVER": server_given, "CORRAL_TLS_CA": ca_given}
    routed = [name for name in ROUTING if name in in_file and not given[name]]
    if routed and not key_from_file:
        raise click.UsageError(
            f"{path.resolve()} sets {' and '.join(routed)} but the secret key comes from"
            " elsewhere: a key is never sent where a file alone says. Put CORRAL_SECRET_KEY in"
            " the same file, or give --server (and --tls-ca) yourself."
        )
