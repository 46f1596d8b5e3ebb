"""A real, private Secret Service for tests: dbus-daemon plus gnome-keyring-daemon.

Tests that touch the OS keyring talk to a real gnome-keyring over a real D-Bus session bus,
never to the developer's own keyring: both daemons are started here, on a bus of their own,
with HOME and the XDG directories pointing into a temporary directory, and both are stopped
(and reaped) afterwards.

The bus has no service activation (its config names no service directories), so nothing
else gets spawned behind our back; in particular no prompter, so a keyring operation that
would need a password prompt fails at once instead of hanging. None is needed:
``gnome-keyring-daemon --unlock`` reads the password from stdin and creates the ``login``
collection with it, unlocked, and gnome-keyring serves ``login`` as the ``default`` alias,
which is what keyring's SecretService backend (via SecretStorage) writes to.

Debian packages: gnome-keyring (the daemon), dbus-daemon (the bus; dbus pulls it in),
libsecret-tools (secret-tool, only to poke at the keyring by hand).

The root conftest exposes the fixtures with::

    from tests.keyring_service import (  # noqa: F401
        fail_keyring,
        secret_service_daemon,
        secret_service_keyring,
    )

When the daemons cannot be started, the fixtures skip with the reason, except under CI
(env CI set and not 0/false/no), where they fail: CI must not silently lose these tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.backends.SecretService
import pytest
import secretstorage
import secretstorage.collection
import secretstorage.exceptions
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from tests.private_services import (
    STOP_TIMEOUT,
    running_or_skipped,
    stop,
    tail,
    wait_until_ready,
)

DEBIAN_PACKAGES = ("gnome-keyring", "dbus-daemon", "libsecret-tools")
KEYRING_PASSWORD = "agent-desk-test-keyring"

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={socket_dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class SecretServiceUnavailable(RuntimeError):
    """The private Secret Service could not be started on this machine."""


@dataclass(frozen=True)
class StoredEntry:
    """One item of the default collection, as the Secret Service holds it."""

    label: str
    attributes: dict[str, str]
    secret: str


@dataclass(frozen=True)
class SecretService:
    """A running private Secret Service; ``address`` is its D-Bus session bus."""

    address: str
    root: Path

    @contextlib.contextmanager
    def _default_collection(self) -> Iterator[secretstorage.Collection]:
        with open_dbus_connection(bus=self.address) as connection:
            yield secretstorage.collection.get_collection_by_alias(connection, "default")

    def entries(self) -> list[StoredEntry]:
        """Everything in the default collection, read straight from the daemon."""
        with self._default_collection() as collection:
            return [
                StoredEntry(
                    label=item.get_label(),
                    attributes=item.get_attributes(),
                    secret=item.get_secret().decode("utf-8"),
                )
                for item in collection.get_all_items()
            ]

    def clear(self) -> None:
        """Delete every item of the default collection."""
        with self._default_collection() as collection:
            for item in list(collection.get_all_items()):
                item.delete()


def _check_ready(address: str) -> bool:
    """True once org.freedesktop.secrets is on the bus with an unlocked default collection."""
    connection: DBusConnection
    try:
        connection = open_dbus_connection(bus=address)
    except (OSError, ValueError):
        return False
    with connection:
        try:
            if not secretstorage.check_service_availability(connection):
                return False
            collection = secretstorage.collection.get_collection_by_alias(connection, "default")
            return not collection.is_locked()
        except secretstorage.exceptions.SecretStorageException:
            return False


@contextlib.contextmanager
def secret_service(password: str = KEYRING_PASSWORD) -> Iterator[SecretService]:
    """Start a private D-Bus session bus and gnome-keyring on it; stop both on exit.

    Raises SecretServiceUnavailable (with the reason) when that cannot be done. It does not
    touch os.environ: point DBUS_SESSION_BUS_ADDRESS at ``.address`` yourself.
    """
    missing = [
        name for name in ("dbus-daemon", "gnome-keyring-daemon") if shutil.which(name) is None
    ]
    if missing:
        raise SecretServiceUnavailable(
            f"{' and '.join(missing)} not found on PATH; install the Debian packages "
            f"{' '.join(DEBIAN_PACKAGES)}"
        )
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="agent-desk-ss-")))
        dirs = {name: root / name for name in ("home", "run", "data", "config", "cache")}
        for path in dirs.values():
            path.mkdir(mode=0o700)
        config = root / "bus.conf"
        config.write_text(_BUS_CONFIG.format(socket_dir=dirs["run"]))
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            "HOME": str(dirs["home"]),
            "XDG_RUNTIME_DIR": str(dirs["run"]),
            "XDG_DATA_HOME": str(dirs["data"]),
            "XDG_CONFIG_HOME": str(dirs["config"]),
            "XDG_CACHE_HOME": str(dirs["cache"]),
        }

        bus_log = root / "dbus-daemon.log"
        with bus_log.open("wb") as log:
            bus = subprocess.Popen(
                ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
            )
        stack.callback(stop, bus)
        assert bus.stdout is not None
        address = bus.stdout.readline().decode().strip()
        bus.stdout.close()
        if not address:
            bus.wait(timeout=STOP_TIMEOUT)
            raise SecretServiceUnavailable(
                f"dbus-daemon exited ({bus.returncode}) without a bus address: {tail(bus_log)}"
            )
        env["DBUS_SESSION_BUS_ADDRESS"] = address

        keyring_log = root / "gnome-keyring-daemon.log"
        with keyring_log.open("wb") as log:
            daemon = subprocess.Popen(
                [
                    "gnome-keyring-daemon",
                    "--foreground",
                    "--unlock",
                    "--components=secrets",
                    f"--control-directory={dirs['run'] / 'keyring'}",
                ],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        stack.callback(stop, daemon)
        assert daemon.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # it died at once: reported just below
            daemon.stdin.write(password.encode())
            daemon.stdin.close()

        wait_until_ready(
            daemon,
            "gnome-keyring-daemon",
            lambda: _check_ready(address),
            keyring_log,
            SecretServiceUnavailable,
            "gave no unlocked default collection",
        )
        yield SecretService(address=address, root=root)


@contextlib.contextmanager
def use_keyring(
    backend: keyring.backend.KeyringBackend,
) -> Iterator[keyring.backend.KeyringBackend]:
    """Make ``backend`` keyring's chosen one for the block, then put the previous one back."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def secret_service_daemon() -> Iterator[SecretService]:
    """The private Secret Service, started once per test session."""
    yield from running_or_skipped(
        secret_service(), SecretServiceUnavailable, "no Secret Service for the keyring tests"
    )


@pytest.fixture
def secret_service_keyring(
    secret_service_daemon: SecretService, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SecretService]:
    """keyring uses the real SecretService backend on the private bus; emptied after the test."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service_daemon.address)
    secret_service_daemon.clear()
    backend = keyring.backends.SecretService.Keyring()
    with use_keyring(backend):
        try:
            yield secret_service_daemon
        finally:
            secret_service_daemon.clear()


@pytest.fixture
def fail_keyring() -> Iterator[keyring.backend.KeyringBackend]:
    """keyring's fail backend: the one keyring itself picks where no keyring works."""
    with use_keyring(keyring.backends.fail.Keyring()) as backend:
        yield backend
