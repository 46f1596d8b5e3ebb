"""Database passwords live in the OS keyring, never in a config file or a log.

Where no keyring backend works (a headless server without a Secret Service, say), the
password comes from AGENT_DESK_DB_PASSWORD instead, and every message says so. keyring is
imported when a password is first needed: a desk on the embedded SQLite file never loads it.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL, make_url

if TYPE_CHECKING:
    import keyring.backend

SERVICE = "agent-desk"
PASSWORD_ENV = "AGENT_DESK_DB_PASSWORD"
# keyring ranks backends by priority; below 1 are the "fail" and plain-file ones, which are
# no safer than a config file, so they do not count as a keyring.
MIN_PRIORITY = 1.0


class KeyringUnavailable(RuntimeError):
    """No OS keyring backend works on this machine."""


def credential_key(url: str | URL) -> str:
    """The keyring entry name for a database: everything that identifies it, no password."""
    u = make_url(url) if isinstance(url, str) else url
    backend = u.get_backend_name()
    port = f":{u.port}" if u.port else ""
    return f"{backend}://{u.username or ''}@{u.host or ''}{port}/{u.database or ''}"


def keyring_backend() -> keyring.backend.KeyringBackend | None:
    import keyring

    backend = keyring.get_keyring()
    try:
        priority = float(backend.priority)
    except Exception:  # a backend that cannot even rank itself does not work
        return None
    return backend if priority >= MIN_PRIORITY else None


def describe_backend() -> str:
    backend = keyring_backend()
    if backend is None:
        return f"no keyring backend works here; {PASSWORD_ENV} is used instead"
    return f"OS keyring ({type(backend).__module__}.{type(backend).__name__})"


def store_password(url: str | URL, password: str) -> str:
    """Store the password; returns a description of where it went."""
    import keyring.errors

    if not password:
        raise ValueError("password must not be empty")
    backend = keyring_backend()
    if backend is None:
        raise KeyringUnavailable(
            f"no OS keyring backend works on this machine ({keyring.get_keyring()!r}); "
            f"set {PASSWORD_ENV} in the desk's environment instead"
        )
    try:
        backend.set_password(SERVICE, credential_key(url), password)
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailable(
            f"the OS keyring refused the password ({exc}); set {PASSWORD_ENV} instead"
        ) from exc
    return describe_backend()


def lookup_password(url: str | URL) -> str | None:
    """Keyring first, then AGENT_DESK_DB_PASSWORD; None when neither has one."""
    import keyring.errors

    backend = keyring_backend()
    if backend is not None:
        try:
            found = backend.get_password(SERVICE, credential_key(url))
        except keyring.errors.KeyringError:
            found = None
        if found:
            return found
    return os.environ.get(PASSWORD_ENV) or None


def forget_password(url: str | URL) -> None:
    import keyring.errors

    backend = keyring_backend()
    if backend is None:
        return
    with contextlib.suppress(keyring.errors.PasswordDeleteError):
        backend.delete_password(SERVICE, credential_key(url))
