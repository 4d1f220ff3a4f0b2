"""A ``.env`` file may name the server only for a key it holds too.

Client commands read ``CORRAL_*`` from a ``.env`` file in the current folder, as the seeds' CLI
does. A folder is not always the user's own (a cloned repository, an unpacked archive): a planted
``.env`` that names a server (or the CA that vouches for it) would receive the secret key the
user keeps in their environment. So a server or CA that only the file gives is used only with a
key from the same file; otherwise the command stops and says so.

The file is read once (:func:`client_settings`), and what is checked is what the command uses:
its names are read as the settings read them, in any case (``corral_server`` is
``CORRAL_SERVER``), and a name the environment sets, in any case, is the environment's.
"""

from __future__ import annotations

import io
import os
import pathlib
from typing import Any

import click
from dotenv import dotenv_values

from corral._settings import ClientSettings
from corral.cli._inputs import read_text

DOTENV = ".env"
MAX_DOTENV_BYTES = 1 << 20
"""The largest ``.env`` read: lines of settings, not data."""
KEY = "CORRAL_SECRET_KEY"
ROUTING = ("CORRAL_SERVER", "CORRAL_TLS_CA")
FIELDS = {"CORRAL_SERVER": "server", KEY: "secret_key", "CORRAL_TLS_CA": "tls_ca"}
"""The client settings a ``.env`` line may give, by the name it is given as (upper case)."""


def client_settings(*, key_given: bool, server_given: bool, ca_given: bool) -> ClientSettings:
    """The client settings: the environment, else ``.env``'s ``CORRAL_*`` lines, checked by
    :func:`check_dotenv_trust` as they are used.

    Raises:
        click.UsageError: a server or CA only the file gives, for a key from elsewhere.
    """
    from_file = dotenv_settings()
    check_dotenv_trust(from_file, key_given=key_given, server_given=server_given, ca_given=ca_given)
    return _settings(from_file)


def keyless_settings() -> ClientSettings:
    """The client settings of a command that sends no key (``corral health``): the
    environment, else ``.env``'s lines, read once as :func:`client_settings` reads them (there
    is no key for a planted server to receive, so nothing to check)."""
    return _settings(dotenv_settings())


def _settings(from_file: dict[str, str]) -> ClientSettings:
    given: dict[str, Any] = {FIELDS[n]: value for n, value in from_file.items() if n in FIELDS}
    return ClientSettings(_env_file=None, **given)


def dotenv_settings() -> dict[str, str]:
    """``.env``'s ``CORRAL_*`` lines the environment does not set, by upper-case name (the
    last line of a name in any case wins, as the settings would take it).

    Raises:
        InvalidRequest: ``invalid_file``, a ``.env`` that is not UTF-8 text or too large.
    """
    path = pathlib.Path(DOTENV)
    if not path.is_file():
        return {}
    text = read_text(path, what="the settings file", limit=MAX_DOTENV_BYTES)
    environment = {name.upper() for name in os.environ}
    found: dict[str, str] = {}
    for name, value in dotenv_values(stream=io.StringIO(text)).items():
        upper = name.upper()
        if value is not None and upper.startswith("CORRAL_") and upper not in environment:
            found[upper] = value
    return found


def check_dotenv_trust(
    from_file: dict[str, str], *, key_given: bool, server_given: bool, ca_given: bool
) -> None:
    """Refuses a server or CA from ``.env`` (``from_file``, :func:`dotenv_settings`) when the
    key comes from elsewhere (an option or the environment).

    Raises:
        click.UsageError: naming the settings and what to do.
    """
    key_from_file = KEY in from_file and not key_given
    given = {"CORRAL_SERVER": server_given, "CORRAL_TLS_CA": ca_given}
    routed = [name for name in ROUTING if name in from_file and not given[name]]
    if routed and not key_from_file:
        raise click.UsageError(
            f"{pathlib.Path(DOTENV).resolve()} sets {' and '.join(routed)} but the secret key"
            " comes from elsewhere: a key is never sent where a file alone says. Put"
            " CORRAL_SECRET_KEY in the same file, or give --server (and --tls-ca) yourself."
        )
