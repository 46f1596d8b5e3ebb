"""Child process of `bench replay`: a whole desk (offscreen) opens the replay window, then
a session whose hour-long recording was imported, plays it a little, and reports the time
to each shown, the desk's memory and which of the heavy optional libraries it loaded.
argv: db_url recordings_root session_id [cold] (cold: without the shared peaks cache, so
the desk decodes the recording)."""

from __future__ import annotations

import json
import linecache
import sys
import time
from pathlib import Path

# Libraries a desk should load only when it needs them (see `loaded_optional`).
OPTIONAL = (
    "alembic",  # schema changes only: a current database is checked with one query
    "numpy",  # computing peaks only: cached peaks are read without it
    "psycopg",  # PostgreSQL only
    "keyring",  # a database password only
    "jsonschema",
    "pydub",
    "PySide6.QtMultimedia",
)


def rss_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def source_kb_kept() -> int:
    """Source text held in `linecache` (module files read whole, for tracebacks)."""
    held = (entry[2] for entry in linecache.cache.values() if len(entry) > 2)
    return sum(len(line) for lines in held for line in lines) // 1024


def main() -> int:
    from agent_desk.bench.desk_driver import DeskDriver
    from agent_desk.settings import load_settings, save_settings

    db_url, root, session_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if sys.argv[4:] == ["cold"]:
        import shutil

        from agent_desk.audio.peaks import shared_cache_dir

        shutil.rmtree(shared_cache_dir(Path(root)), ignore_errors=True)
    settings = load_settings()
    settings.agent_no, settings.recordings_root = "2001", root  # the demo team lead
    save_settings(settings)
    driver = DeskDriver(db_url)
    try:
        window = driver.window
        started = time.perf_counter()
        replay = window.open_replay()
        assert replay is not None
        driver.app.processEvents()  # type: ignore[union-attr]
        window_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        replay.open_session(session_id)
        driver.wait_until(lambda: replay.replay is not None and replay.waveform.peaks is not None)
        driver.app.processEvents()  # type: ignore[union-attr]
        shown_ms = (time.perf_counter() - started) * 1000
        replay.toggle_play()
        resume = time.perf_counter() + 3
        driver.wait_until(lambda: time.perf_counter() >= resume)
        replay.stop()
        print(
            json.dumps(
                {
                    "window_ms": window_ms,
                    "shown_ms": shown_ms,
                    "rss_mb": rss_mb("VmRSS:"),
                    "peak_mb": rss_mb("VmHWM:"),
                    "buckets": len(replay.waveform.peaks),
                    "loaded": [name for name in OPTIONAL if name in sys.modules],
                    "source_kb_kept": source_kb_kept(),
                }
            ),
            flush=True,
        )
    finally:
        driver.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
