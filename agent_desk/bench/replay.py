"""`agent-desk bench replay`: an hour-long call, from WAV to a waveform on screen.

The recording is made here: Chinese speech (espeak-ng), a tone, pink noise and silence, an
hour of it, 8 kHz mono 16-bit as a PBX writes it (55 MB). Figures:

* import and convert it (normalise, mono 16 kHz, Opus) — the streaming ffmpeg path, with
  the waveform peaks cached on the way as the desk does at import;
* open it the first time with no cached peaks (a desk that did not import it and has no
  shared cache): decode (libopus, a slice per core) and reduce the whole hour — goal
  ≤ 1.5 s; and the same on one core;
* open it from the peaks cache — goal ≤ 200 ms (hashing the file included: a desk that
  does not have the checksum from the database yet);
* build the timeline of an hour-long session (2,000 events) and map positions to events;
* a whole desk in its own process (SQLite, or the PostgreSQL server `--db` names): the
  replay window opened, then the hour-long session shown with its waveform, from the
  cache and the first time (decoded); the desk's peak memory while it replays;
* memory: this process's peak resident size (import and peaks stream, so it stays small)
  and the largest ffmpeg child's.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent_desk.audio.peak_decoding import compute_peaks
from agent_desk.audio.peaks import (
    import_recording_with_peaks,
    load_or_compute_peaks,
    shared_cache_dir,
)
from agent_desk.bench import BenchOptions, figure
from agent_desk.core.timeline import RecordedEvent, build_timeline

SECONDS = 3600
RATE = 8000
COLD_RUNS = 3
CACHED_RUNS = 20
EVENTS = 2000
SPEECH = (
    "您好，我是客户服务中心一零零一号，很高兴为您服务，请问有什么可以帮您？",
    "好的，您是说空调不制冷，对吗？请您稍等，我帮您查一下购买记录。",
    "非常抱歉给您带来不便，我们会在二十四小时内安排师傅上门。",
    "请问还有其他可以帮您的吗？感谢您的来电，再见。",
)


def run(options: BenchOptions) -> Iterator[dict[str, Any]]:
    for tool in ("espeak-ng", "sox", "ffmpeg"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"bench replay needs {tool}: apt-get install {tool}")
    with tempfile.TemporaryDirectory(prefix="agent-desk-bench-replay-") as tmp:
        work = Path(tmp)
        source = make_long_recording(work, SECONDS)
        size_mb = source.stat().st_size / 1e6

        root = work / "recordings"
        cache = shared_cache_dir(root)
        started = time.perf_counter()
        info, _ = import_recording_with_peaks(source, root, "bench-call", cache)
        import_ms = (time.perf_counter() - started) * 1000
        stored = root / info.path
        yield figure(
            "replay",
            "import and convert a 60-minute WAV (normalise, mono 16 kHz, Opus; peaks cached)",
            [import_ms],
            source_mb=round(size_mb, 1),
            stored_mb=round(info.bytes / 1e6, 2),
            duration_ms=info.duration_ms,
            codec=info.codec,
        )

        cold: list[float] = []
        for run_no in range(COLD_RUNS):
            empty = work / f"cold-cache-{run_no}"
            started = time.perf_counter()
            peaks = load_or_compute_peaks(stored, empty)
            cold.append((time.perf_counter() - started) * 1000)
        yield figure(
            "replay",
            "open a 60-minute recording's waveform the first time (no cached peaks)",
            cold,
            goal_ms=1500,
            buckets=len(peaks),
        )

        single: list[float] = []
        started = time.perf_counter()
        compute_peaks(stored, workers=1)
        single.append((time.perf_counter() - started) * 1000)
        yield figure("replay", "the same on one core (one slice)", single)

        cached: list[float] = []
        for _ in range(options.repeat or CACHED_RUNS):
            started = time.perf_counter()
            again = load_or_compute_peaks(stored, cache)
            cached.append((time.perf_counter() - started) * 1000)
        assert len(again) == len(peaks)
        yield figure(
            "replay",
            "open a 60-minute recording's waveform from the peaks cache (file hashed)",
            cached,
            goal_ms=200,
        )
        cached = []
        for _ in range(options.repeat or CACHED_RUNS):
            started = time.perf_counter()
            load_or_compute_peaks(stored, cache, checksum=info.checksum)
            cached.append((time.perf_counter() - started) * 1000)
        yield figure(
            "replay",
            "the same with the checksum from the database (no hashing)",
            cached,
            goal_ms=200,
        )

        events = [
            RecordedEvent(i * SECONDS * 1000 // EVENTS, kind, {"chars": i}, i + 1)
            for i, kind in enumerate(
                ("note_saved", "prompt_used", "hold", "resumed", "coaching_warning") * (EVENTS // 5)
            )
        ]
        build: list[float] = []
        for _ in range(10):
            started = time.perf_counter()
            timeline = build_timeline(events)
            build.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        for position in range(0, SECONDS * 1000, 40):  # every frame of an hour at 25 fps
            timeline.at(position)
        lookups = SECONDS * 1000 // 40
        per_lookup_us = (time.perf_counter() - started) * 1e6 / lookups
        yield figure(
            "replay",
            f"build the timeline of a {EVENTS:,}-event hour-long session",
            build,
            position_lookup_us=round(per_lookup_us, 3),
        )

        yield from desk_replay(work, root, info, options.db_url)

        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        yield figure(
            "replay",
            "peak memory of this process (import, peaks, cache, timeline)",
            [own],
            unit="MB",
            largest_ffmpeg_child_mb=round(children, 1),
            goal_mb_whole_desk=250,
        )


def desk_replay(
    work: Path, root: Path, info: Any, server_url: str | None
) -> Iterator[dict[str, Any]]:
    """A whole desk, in its own process, replaying the hour: time to the waveform shown
    in the replay window, and the desk's memory while it plays (on SQLite, or on the
    PostgreSQL server `--db` names)."""
    from agent_desk.store.scratch import scratch_database

    with scratch_database(server_url, "replay") as url:
        yield from _desk_replay(work, root, info, url.render_as_string(hide_password=False))


def _desk_replay(work: Path, root: Path, info: Any, url: str) -> Iterator[dict[str, Any]]:
    import datetime as dt
    import json
    import os
    import subprocess
    import sys

    from sqlalchemy.orm import Session

    from agent_desk.store.agents import ensure_demo_agents, find_agent
    from agent_desk.store.db import make_engine
    from agent_desk.store.migrations import upgrade
    from agent_desk.store.models import CallSession
    from agent_desk.store.qa import attach_recording

    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        ensure_demo_agents(session)
        operator = find_agent(session, "1001")
        start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
        call = CallSession(
            call_id="bench-call",
            number="+8613800138000",
            agent_id=operator.id if operator else None,
            started_at=start,
            answered_at=start,
            ended_at=start + dt.timedelta(hours=1),
            wrap_up_code="enquiry",
        )
        session.add(call)
        session.flush()
        attach_recording(
            session,
            call.id,
            info.path,
            checksum=info.checksum,
            duration_ms=info.duration_ms,
            size=info.bytes,
            codec=info.codec,
        )
        session_id = call.id
    engine.dispose()
    windows: list[float] = []
    shown: dict[bool, list[float]] = {False: [], True: []}
    peak: dict[bool, list[float]] = {False: [], True: []}
    # Cached first (the import wrote the peaks), then cold: each cold run deletes the shared
    # cache, decodes the hour and writes the peaks again.
    for run_no, cold in enumerate([False] * 3 + [True] * 3):
        env = {
            **os.environ,
            "AGENT_DESK_HOME": str(work / f"desk-home-{run_no}"),
            "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        }
        command = [sys.executable, "-m", "agent_desk.bench.replay_probe", url, str(root)]
        command += [str(session_id), *(["cold"] if cold else [])]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"replay probe failed: {done.stderr.strip()[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        shown[cold].append(result["shown_ms"])
        windows.append(result["window_ms"])
        peak[cold].append(result["peak_mb"])
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    yield figure(
        "replay",
        f"desk opens its replay window (the first time since it started), {backend}",
        windows,
    )
    yield figure(
        "replay",
        "desk opens a 60-minute call in the replay window: session, timeline and "
        f"waveform shown (peaks cached at import), {backend}",
        shown[False],
        goal_ms=200,
    )
    yield figure(
        "replay",
        f"the same the first time, no peaks cached (the desk decodes the recording), {backend}",
        shown[True],
        goal_ms=1500,
    )
    yield figure(
        "replay",
        f"whole desk's peak memory while replaying the 60-minute call, {backend}",
        peak[False],
        unit="MB",
        goal_mb=250,
        after_decoding_it_mb=round(max(peak[True]), 1),
    )


def make_long_recording(work: Path, seconds: int) -> Path:
    """An hour of call-like audio at 8 kHz: speech, a hold tone, line noise, silence."""
    parts = []
    for n, sentence in enumerate(SPEECH):
        raw = work / f"speech-{n}.wav"
        subprocess.run(["espeak-ng", "-v", "cmn", "-w", str(raw), sentence], check=True)
        part = work / f"part-{n}.wav"
        subprocess.run(["sox", "-V1", str(raw), "-r", str(RATE), "-c", "1", str(part)], check=True)
        parts.append(part)
    tone, noise, silence = work / "tone.wav", work / "noise.wav", work / "silence.wav"
    synth = ["sox", "-V1", "-n", "-r", str(RATE), "-c", "1", "-b", "16"]
    subprocess.run([*synth, str(tone), "synth", "3", "sine", "440", "vol", "0.3"], check=True)
    subprocess.run([*synth, str(noise), "synth", "4", "pinknoise", "vol", "0.05"], check=True)
    subprocess.run([*synth, str(silence), "trim", "0", "2"], check=True)
    block = work / "block.wav"
    subprocess.run(
        ["sox", "-V1", *map(str, [*parts, tone, noise, silence]), str(block)], check=True
    )
    block_s = float(
        subprocess.run(
            ["soxi", "-D", str(block)], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    repeats = int(seconds // block_s) + 1
    target = work / "call-60min.wav"
    subprocess.run(
        ["sox", "-V1", str(block), str(target), "repeat", str(repeats), "trim", "0", str(seconds)],
        check=True,
    )
    return target
