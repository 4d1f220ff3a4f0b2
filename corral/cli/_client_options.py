"""What every client command shares: the options that connect it (--server, --secret-key,
--tls-ca, --json), the hints its errors get, and the JSON its options take."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from corral import _settings
from corral._settings import address
from corral.cli._api_client import Client, read_ca
from corral.cli._dotenv_trust import client_settings
from corral.cli._inputs import Shape, json_option
from corral.cli._output import checked, reports_errors
from corral.cli._suggest import nearest_name
from corral.errors import CorralError, Unavailable

F = TypeVar("F", bound=Callable[..., Any])


def with_client(func: F) -> F:
    """Adds --server, --secret-key, --tls-ca and --json, and passes a connected Client."""

    @click.option(
        "--server",
        callback=checked(address),
        help="Orchestrator address [CORRAL_SERVER, default 127.0.0.1:7700].",
    )
    @click.option(
        "--secret-key",
        callback=checked(_settings.secret_key),
        help="The environment's secret key [CORRAL_SECRET_KEY].",
    )
    @click.option(
        "--tls-ca",
        help="PEM CA certificate: connect over TLS, trusting the servers it signed"
        " [CORRAL_TLS_CA; default plaintext].",
    )
    @click.option(
        "--json",
        "compact",
        is_flag=True,
        help="Print JSON on one line (for scripts; a terminal gets a table for lists).",
    )
    @reports_errors
    @wraps(func)
    def wrapper(
        *args: Any,
        server: str | None,
        secret_key: str | None,
        tls_ca: str | None,
        compact: bool,
        **kwargs: Any,
    ) -> Any:
        settings = client_settings(
            key_given=bool(secret_key), server_given=bool(server), ca_given=bool(tls_ca)
        )
        key = secret_key or settings.secret_key.get_secret_value()
        if not key:
            raise click.UsageError("a secret key is needed: --secret-key or CORRAL_SECRET_KEY")
        ca = read_ca(tls_ca or settings.tls_ca)
        where = server or settings.server
        with Client(where, key, tls_ca=ca) as client:
            try:
                return func(client, compact, *args, **kwargs)
            except CorralError as err:
                raise with_hint(err, where, client) from None

    return wrapper  # type: ignore[return-value]


KEY_SOURCES = (
    "keys come from `corral env create NAME` (printed once) or `corral env rotate-key NAME`;"
    " give one with --secret-key or CORRAL_SECRET_KEY (a .env file in the current folder"
    " counts)"
)


def with_hint(err: CorralError, server: str, client: Client) -> CorralError:
    """The error with what to do next, for the mistakes everyone makes: no server there, a key
    the server does not know, a function, connection or integration name mistyped."""
    if err.code == "rpc_unavailable":
        return Unavailable(
            f"cannot reach the server at {server}: is `corral serve` running at {server}?"
            f" ({err.message})",
            code="server_unreachable",
            retryable=True,
        )
    if err.code in {"invalid_secret_key", "missing_secret_key"}:
        return type(err)(f"{err.message}: {KEY_SOURCES}", code=err.code, details=err.details)
    nearest = nearest_name(err, client)
    if nearest is not None:
        hinted = f"{err.message} (did you mean {nearest!r}?)"
        return type(err)(hinted, code=err.code, details={**err.details, "did_you_mean": nearest})
    return err


def json_arg(text: str | None, what: str, shape: Shape = "any") -> str:
    """An option's JSON as the request carries it ("" when not given), checked first as the
    server reads it (strictly; an object where ``shape`` says so).

    Raises:
        InvalidRequest: ``invalid_json``, naming the option (``what``).
    """
    json_option(text, what, shape)
    return text or ""
