"""Database passwords: the real OS keyring (a private gnome-keyring), or the env fallback.

The Secret Service tests run against a real gnome-keyring-daemon on a private D-Bus bus
(tests/keyring_service.py); the fallback tests use keyring's own fail backend, the one it
selects by itself on a machine without a keyring.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keyring.backend
import pytest

from agent_desk.store.credentials import (
    PASSWORD_ENV,
    SERVICE,
    KeyringUnavailable,
    credential_key,
    describe_backend,
    forget_password,
    lookup_password,
    store_password,
)

if TYPE_CHECKING:
    from tests.keyring_service import SecretService

URL = "postgresql+psycopg://agent@db.example:5432/desk"
URL_WITH_PASSWORD = "postgresql+psycopg://agent:url-pass-77@db.example:5432/desk"
OTHER_URL = "postgresql+psycopg://agent@db.example:5432/reports"


@pytest.fixture(autouse=True)
def _no_env_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)


# --- credential_key: no keyring involved --------------------------------------------------


def test_credential_key_names_the_database_without_driver_or_password() -> None:
    assert credential_key(URL) == "postgresql://agent@db.example:5432/desk"


def test_credential_key_ignores_a_password_in_the_url() -> None:
    key = credential_key(URL_WITH_PASSWORD)
    assert key == credential_key(URL)
    assert "url-pass-77" not in key


# --- the real Secret Service --------------------------------------------------------------


def test_store_then_lookup_round_trips(secret_service_keyring: SecretService) -> None:
    where = store_password(URL, "s3cret-desk")
    assert "SecretService" in where
    assert where == describe_backend()
    assert lookup_password(URL) == "s3cret-desk"
    assert lookup_password(OTHER_URL) is None
    [entry] = secret_service_keyring.entries()
    assert entry.secret == "s3cret-desk"


def test_store_replaces_the_previous_password(secret_service_keyring: SecretService) -> None:
    store_password(URL, "first")
    store_password(URL, "second")
    assert lookup_password(URL) == "second"
    assert [e.secret for e in secret_service_keyring.entries()] == ["second"]


def test_keyring_entry_never_contains_the_password(
    secret_service_keyring: SecretService,
) -> None:
    store_password(URL_WITH_PASSWORD, "stored-pass-42")
    [entry] = secret_service_keyring.entries()
    assert entry.attributes["service"] == SERVICE
    assert entry.attributes["username"] == credential_key(URL)
    visible = [entry.label, *entry.attributes.keys(), *entry.attributes.values()]
    for text in visible:
        assert "stored-pass-42" not in text
        assert "url-pass-77" not in text
    assert entry.secret == "stored-pass-42"


def test_password_stored_under_a_url_with_password_is_found_without_it(
    secret_service_keyring: SecretService,
) -> None:
    store_password(URL_WITH_PASSWORD, "s3cret-desk")
    assert lookup_password(URL) == "s3cret-desk"


def test_forget_password_removes_it(secret_service_keyring: SecretService) -> None:
    store_password(URL, "s3cret-desk")
    store_password(OTHER_URL, "other-pass")
    forget_password(URL)
    assert lookup_password(URL) is None
    assert lookup_password(OTHER_URL) == "other-pass"
    assert [e.attributes["username"] for e in secret_service_keyring.entries()] == [
        credential_key(OTHER_URL)
    ]
    forget_password(URL)  # forgetting twice is fine


def test_keyring_wins_over_the_env_var(
    secret_service_keyring: SecretService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    store_password(URL, "from-keyring")
    assert lookup_password(URL) == "from-keyring"
    assert lookup_password(OTHER_URL) == "from-env"  # nothing in the keyring for it


def test_empty_password_is_refused(secret_service_keyring: SecretService) -> None:
    with pytest.raises(ValueError, match="empty"):
        store_password(URL, "")
    assert secret_service_keyring.entries() == []


# --- no keyring: keyring's fail backend ---------------------------------------------------


def test_without_keyring_store_names_the_env_var(
    fail_keyring: keyring.backend.KeyringBackend,
) -> None:
    with pytest.raises(KeyringUnavailable, match=PASSWORD_ENV):
        store_password(URL, "s3cret-desk")


def test_without_keyring_describe_backend_says_so(
    fail_keyring: keyring.backend.KeyringBackend,
) -> None:
    description = describe_backend()
    assert "no keyring backend" in description
    assert PASSWORD_ENV in description


def test_without_keyring_lookup_falls_back_to_the_env_var(
    fail_keyring: keyring.backend.KeyringBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert lookup_password(URL) is None
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    assert lookup_password(URL) == "from-env"
    forget_password(URL)  # nothing to forget, and no error
    assert lookup_password(URL) == "from-env"


def test_without_keyring_empty_password_is_still_refused_as_empty(
    fail_keyring: keyring.backend.KeyringBackend,
) -> None:
    with pytest.raises(ValueError, match="empty"):
        store_password(URL, "")
