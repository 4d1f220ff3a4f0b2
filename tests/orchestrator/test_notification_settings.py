"""An environment's notification URL is a setting; its signing secret is generated, shown
once, never shown by the settings and never set by a patch."""

from __future__ import annotations

import pathlib

import pytest

from corral.errors import InvalidRequest
from orchestrator import open_admin


def test_the_secret_is_shown_once_and_kept(tmp_path: pathlib.Path) -> None:
    with open_admin(tmp_path, create=True) as admin:
        admin.create_environment("dev")
        url = "https://hooks.example.com/corral"
        shown = admin.environment_settings("dev", {"notifications": {"url": url}})
        made = admin.notification_secret("dev")
        again = admin.environment_settings("dev", {"log_level": "warn"})
        other = admin.notification_secret("dev")
    assert shown.settings["notifications"] == {"url": url}
    assert made.secret_key.startswith("whsec_")
    assert other.secret_key != made.secret_key
    assert again.settings["notifications"] == {"url": url}
    assert made.secret_key not in repr(again)


@pytest.mark.parametrize(
    "patch",
    [
        {"notifications": {"secret": "mine"}},
        {"notifications": {"url": "ftp://example.com/x"}},
        {"notifications": {"url": "example.com"}},
        {"notifications": {"url": "https://a b"}},
        {"notifications": {"other": 1}},
    ],
)
def test_refused_patches(tmp_path: pathlib.Path, patch: dict[str, object]) -> None:
    with open_admin(tmp_path, create=True) as admin:
        admin.create_environment("dev")
        with pytest.raises(InvalidRequest) as caught:
            admin.environment_settings("dev", patch)
    assert caught.value.code == "invalid_settings"
