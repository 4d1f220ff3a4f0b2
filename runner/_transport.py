"""How ``corral runner`` listens and reaches the callback API: mutual TLS, or loopback plaintext.

With ``CORRAL_RUNNER_TLS_CA``, ``CORRAL_RUNNER_TLS_CERT`` and ``CORRAL_RUNNER_TLS_KEY``, the
Runner API refuses every client without a certificate signed by the CA, and the runner presents
its certificate to the callback API and trusts only a server the CA signed. Without them, the
Runner API listens in plaintext, which is refused anywhere but on loopback. The files are read
and checked once the warm parent is forked (``runner._main``), so that no worker's memory holds
the private key, and before the Runner API starts (``corral._tls``, imported only then: a
runner without TLS loads no cryptography).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from corral._plaintext import check_plaintext
from corral._runner_settings import RunnerSettings
from corral.errors import InvalidRequest

if TYPE_CHECKING:
    from corral._tls import Setting, Tls

_TLS_VARIABLES = "CORRAL_RUNNER_TLS_CA, CORRAL_RUNNER_TLS_CERT and CORRAL_RUNNER_TLS_KEY"


def _setting(value: str, variable: str) -> Setting:
    from corral import _tls  # noqa: PLC0415 - cryptography only when TLS is set

    option = variable.removeprefix("CORRAL_RUNNER_").lower().replace("_", "-")
    return _tls.Setting(value and os.path.abspath(value), f"{variable} (--{option})")


def runner_tls(settings: RunnerSettings) -> Tls | None:
    """The runner's TLS (None: plaintext, on loopback only).

    Raises:
        InvalidRequest: ``invalid_tls`` (a file that cannot be used, a setting missing), or
            ``plaintext_refused``.
    """
    if not (settings.tls_ca or settings.tls_cert or settings.tls_key):
        check_plaintext(settings.host, "CORRAL_RUNNER_HOST", _TLS_VARIABLES)
        return None
    ca = _setting(settings.tls_ca, "CORRAL_RUNNER_TLS_CA")
    cert = _setting(settings.tls_cert, "CORRAL_RUNNER_TLS_CERT")
    key = _setting(settings.tls_key, "CORRAL_RUNNER_TLS_KEY")
    given = [one for one in (ca, cert, key) if one.path]
    for one in (ca, cert, key):
        if not one.path:
            raise InvalidRequest(
                f"{one.name}: not set, but {given[0].name} is; expected all of {_TLS_VARIABLES}",
                code="invalid_tls",
            )
    from corral import _tls  # noqa: PLC0415

    return _tls.load(cert, key, ca)
