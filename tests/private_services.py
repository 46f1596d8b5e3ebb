"""What the tests' private daemons (the Secret Service in keyring_service, the sound server
in sound_server) share: stopping a process for good, the tail of its log, and a fixture
that skips when the daemon cannot be started, except under CI, where it fails."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

import pytest

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
T = TypeVar("T")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill if need be, and always reap, so no process or pipe outlives us."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            with contextlib.suppress(BrokenPipeError):  # unflushed input for a dead process
                pipe.close()


def tail(path: Path, limit: int = 2000) -> str:
    """The end of a daemon's log, for the reason it did not start."""
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    return text[-limit:]


def wait_until_ready(
    daemon: subprocess.Popen[bytes],
    name: str,
    ready: Callable[[], bool],
    log: Path,
    unavailable: type[Exception],
    not_ready: str,
) -> None:
    """Poll `ready` until it holds; `unavailable` (with the log's tail) when the daemon
    exits first, or when START_TIMEOUT passes (`not_ready` says what did not happen)."""
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if daemon.poll() is not None:
            raise unavailable(f"{name} exited ({daemon.returncode}): {tail(log)}")
        if time.monotonic() > deadline:
            raise unavailable(f"{name} {not_ready} within {START_TIMEOUT:.0f}s: {tail(log)}")
        time.sleep(0.05)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def running_or_skipped(
    service: AbstractContextManager[T], unavailable: type[Exception], missing: str
) -> Iterator[T]:
    """A fixture's body: the started service for the test, stopped afterwards. When it
    cannot start (`unavailable`), the test skips saying `missing` and why; under CI it fails
    instead, so CI never silently loses those tests."""
    with contextlib.ExitStack() as stack:
        try:
            running = stack.enter_context(service)
        except unavailable as exc:
            reason = f"{missing}: {exc}"
            if in_ci():
                pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)")
            pytest.skip(reason)
        yield running
