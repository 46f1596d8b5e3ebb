"""A real, private sound server with a virtual microphone, for tests of the desk's own call
recording (QtMultimedia reads microphones from PulseAudio on Linux).

`sound_server()` starts `pulseaudio` as a plain per-user daemon (no system mode, no D-Bus,
no default modules, no client may stop it) with HOME and XDG_RUNTIME_DIR in a temporary
directory, listening on a socket there with anonymous access. In it:

* a null sink "line", mono 48 kHz, played into without pause by `pacat` (low latency, so
  the first sound reaches a new recorder within milliseconds) with a sine at a known
  frequency, which a test can find again in what was recorded;
* a silent "built-in microphone", the default input while no headset is plugged in;
* `plug_microphone(description)` plugs a headset in: a remap of the line's monitor, so
  QtMultimedia lists it as an ordinary input (it leaves monitors out) under that
  description, made the default input; `unplug_microphone()` pulls it out again, and the
  server falls back to the built-in microphone (and moves recordings there).

`env()` is what a child process needs to use the server: PULSE_SERVER and
XDG_RUNTIME_DIR. Nothing here touches os.environ, so the test process keeps its own (no)
sound; a desk that is to hear the microphone runs in a process of its own.

Debian packages: pulseaudio (the daemon), pulseaudio-utils (pactl, pacat); both in
scripts/system-deps.sh. When the server cannot be started the fixture skips with the
reason, except under CI, where it fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.private_services import STOP_TIMEOUT, running_or_skipped, stop, wait_until_ready

DEBIAN_PACKAGES = ("pulseaudio", "pulseaudio-utils")
LINE_RATE = 48_000
TONE_HZ = 440.0
BUILT_IN = "Built-in microphone 内置麦克风"
ORPHAN_EXIT_S = 20


class SoundServerUnavailable(RuntimeError):
    """The private PulseAudio server could not be started on this machine."""


def sine(frequency: float, rate: int, seconds: float = 1.0, level: float = 0.5) -> bytes:
    """s16le mono; whole seconds of a whole-hertz tone join up without a click."""
    t = np.arange(int(rate * seconds)) / rate
    return (level * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2").tobytes()


@dataclass
class SoundServer:
    root: Path
    socket: Path

    @property
    def address(self) -> str:
        return f"unix:{self.socket}"

    def env(self) -> dict[str, str]:
        return {"PULSE_SERVER": self.address, "XDG_RUNTIME_DIR": str(self.root / "run")}

    def pactl(self, *args: str) -> str:
        done = subprocess.run(
            ["pactl", *args],
            env={**_clean_env(self.root), **self.env()},
            capture_output=True,
            text=True,
            timeout=STOP_TIMEOUT,
        )
        if done.returncode != 0:
            raise SoundServerUnavailable(f"pactl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def plug_microphone(self, description: str) -> None:
        """A headset's microphone, hearing the line; it becomes the default input, as
        desktops make a headset that is plugged in."""
        self.pactl(
            "load-module",
            "module-remap-source",
            "master=line.monitor",
            "source_name=mic",
            f'source_properties="{_description(description)}"',
        )
        self.pactl("set-default-source", "mic")

    def unplug_microphone(self) -> None:
        """Pull the headset out: the server falls back to the built-in microphone."""
        self.pactl("unload-module", "module-remap-source")

    def sources(self) -> list[str]:
        """Source names, monitors included."""
        lines = self.pactl("list", "short", "sources").splitlines()
        return [line.split("\t")[1] for line in lines if line.strip()]


def _description(text: str) -> str:
    return f"device.description='{text}'"


def _clean_env(root: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "HOME": str(root / "home"),
        "XDG_RUNTIME_DIR": str(root / "run"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_STATE_HOME": str(root / "state"),
    }


def _feed(pacat: subprocess.Popen[bytes], tone: bytes, feeding: threading.Event) -> None:
    """Play the tone into the line for as long as the server runs (pacat paces us)."""
    assert pacat.stdin is not None
    with contextlib.suppress(BrokenPipeError, OSError, ValueError):
        while feeding.is_set():
            pacat.stdin.write(tone)
            pacat.stdin.flush()


@contextlib.contextmanager
def sound_server(tone_hz: float = TONE_HZ) -> Iterator[SoundServer]:
    """Start the server with its line playing `tone_hz`; stop everything on exit."""
    missing = [name for name in ("pulseaudio", "pactl", "pacat") if shutil.which(name) is None]
    if missing:
        raise SoundServerUnavailable(
            f"{', '.join(missing)} not found on PATH; install the Debian packages "
            f"{' '.join(DEBIAN_PACKAGES)}"
        )
    with contextlib.ExitStack() as stack:
        # A short path of its own: a unix socket's path must fit in 108 bytes.
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="agent-desk-pa-")))
        for name in ("home", "run", "config", "state"):
            (root / name).mkdir(mode=0o700)
        socket = root / "run" / "pulse" / "native"
        socket.parent.mkdir(mode=0o700)
        env = _clean_env(root)
        server_log = root / "pulseaudio.log"
        with server_log.open("wb") as log:
            daemon = subprocess.Popen(
                [
                    "pulseaudio",
                    "--daemonize=no",
                    "--system=no",
                    "-n",  # no default.pa: only the modules below
                    # Never idle while the line plays; orphaned (the test run killed, so
                    # pacat's input ends) it goes away by itself.
                    f"--exit-idle-time={ORPHAN_EXIT_S}",
                    "--disallow-exit",
                    "--use-pid-file=no",
                    "--disable-shm=yes",
                    "--log-target=stderr",
                    "--log-level=notice",
                    f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1",
                    f"--load=module-null-sink sink_name=line rate={LINE_RATE} channels=1 "
                    "sink_properties=device.description=Line",
                    # The computer's own microphone: silence, and the default until a
                    # headset is plugged in.
                    f"--load=module-null-source source_name=builtin rate={LINE_RATE} "
                    f"channels=1 description='{BUILT_IN}'",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        stack.callback(stop, daemon)
        server = SoundServer(root, socket)
        wait_until_ready(
            daemon,
            "pulseaudio",
            lambda: _answers(server),
            server_log,
            SoundServerUnavailable,
            "did not answer",
        )
        pacat = subprocess.Popen(
            [
                "pacat",
                "--playback",
                "--device=line",
                "--raw",
                "--format=s16le",
                f"--rate={LINE_RATE}",
                "--channels=1",
                "--latency-msec=20",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**env, **server.env()},
        )
        feeding = threading.Event()
        feeding.set()
        feeder = threading.Thread(
            target=_feed,
            args=(pacat, sine(tone_hz, LINE_RATE), feeding),
            name="sound-server-feed",
            daemon=True,
        )

        def stop_feeding() -> None:
            feeding.clear()
            stop(pacat)  # a write blocked on the pipe fails, and the feeder ends
            if feeder.is_alive():
                feeder.join(STOP_TIMEOUT)

        stack.callback(stop_feeding)
        feeder.start()
        yield server


def _answers(server: SoundServer) -> bool:
    if not server.socket.exists():
        return False
    try:
        server.pactl("info")
    except (SoundServerUnavailable, subprocess.TimeoutExpired):
        return False
    return True


@pytest.fixture
def sound_server_daemon() -> Iterator[SoundServer]:
    """A private sound server for one test (its microphone is plugged by the test)."""
    yield from running_or_skipped(
        sound_server(), SoundServerUnavailable, "no PulseAudio server for the recording tests"
    )
