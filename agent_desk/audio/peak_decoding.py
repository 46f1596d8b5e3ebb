"""Computing waveform peaks: decoding a recording and reducing it, chunk by chunk (numpy).

An hour-long call never sits in memory as PCM. Decoding is the cost, so a long file is cut
into as many time slices as there are cores (up to 4), decoded side by side. The
recordings the store writes (Opus in Ogg) are decoded by libopus at 16 kHz (`ogg_opus`),
a process per slice (this module's `main`): an hour in ~1.3 s on two cores; anything else,
or a file libopus refuses, by ffmpeg to 8 kHz on a pipe, one ffmpeg per slice (an hour of
Opus costs ffmpeg ~3 s of one core).
"""

from __future__ import annotations

import logging
import math
import os
import struct
import subprocess
import sys
import threading
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from agent_desk.audio.ogg_opus import DECODE_RATE, Undecodable, read_stream
from agent_desk.audio.peaks import BUCKETS_PER_SECOND, Peaks, int16_le
from agent_desk.audio.recordings import PEAKS_RATE, check_file, ffmpeg_path, run_ffmpeg

log = logging.getLogger(__name__)

# Below this a single decoder is quicker than starting several.
PARALLEL_FROM_S = 300.0
MAX_WORKERS = 4
# A decoder started mid-file fades in over its first frames (Opus needs 80 ms of history),
# so each later slice starts this much early and drops what it decoded before its start.
PREROLL_S = 1
SLICE_TIMEOUT_S = 300
_SLICE_HEADER = struct.Struct("<QQ")

Int16Array = npt.NDArray[np.int16]


class PeakAccumulator:
    """Feed 16-bit little-endian mono PCM in any chunk sizes; `peaks()` at the end."""

    def __init__(
        self, sample_rate: int = PEAKS_RATE, buckets_per_second: int = BUCKETS_PER_SECOND
    ) -> None:
        if buckets_per_second <= 0 or sample_rate % buckets_per_second:
            raise ValueError(
                f"{buckets_per_second} buckets per second do not divide {sample_rate} Hz"
            )
        self.sample_rate = sample_rate
        self.buckets_per_second = buckets_per_second
        self.per_bucket = sample_rate // buckets_per_second
        self.samples = 0
        self._odd = b""  # a pipe read may end in the middle of a sample
        self._rest: Int16Array = np.empty(0, dtype=np.int16)
        self._mins: list[Int16Array] = []
        self._maxs: list[Int16Array] = []

    def feed(self, data: bytes) -> None:
        if self._odd:
            data = self._odd + data
        keep = len(data) & 1
        self._odd = data[len(data) - keep :] if keep else b""
        self.feed_samples(np.frombuffer(data, dtype="<i2", count=(len(data) - keep) // 2))

    def feed_samples(self, samples: Int16Array) -> None:
        self.samples += len(samples)
        if len(self._rest):
            samples = np.concatenate((self._rest, samples))
        full = len(samples) // self.per_bucket * self.per_bucket
        if full:
            buckets = samples[:full].reshape(-1, self.per_bucket)
            self._mins.append(buckets.min(axis=1))
            self._maxs.append(buckets.max(axis=1))
        self._rest = samples[full:].copy()

    def mins_maxs(self, buckets: int | None = None) -> tuple[Int16Array, Int16Array]:
        """What was fed, as arrays; `buckets` pads with silence or cuts to exactly that many."""
        mins = list(self._mins)
        maxs = list(self._maxs)
        if len(self._rest):
            mins.append(np.array([self._rest.min()], dtype=np.int16))
            maxs.append(np.array([self._rest.max()], dtype=np.int16))
        lo = np.concatenate(mins) if mins else np.empty(0, dtype=np.int16)
        hi = np.concatenate(maxs) if maxs else np.empty(0, dtype=np.int16)
        if buckets is not None:
            lo, hi = _fit(lo, buckets), _fit(hi, buckets)
        return lo, hi

    def peaks(self) -> Peaks:
        lo, hi = self.mins_maxs()
        return Peaks(
            duration_ms=self.samples * 1000 // self.sample_rate,
            sample_rate=self.sample_rate,
            buckets_per_second=self.buckets_per_second,
            mins=_to_array(lo),
            maxs=_to_array(hi),
        )


def compute_peaks(
    path: Path, buckets_per_second: int = BUCKETS_PER_SECOND, *, workers: int | None = None
) -> Peaks:
    """Decode `path` (any format ffmpeg reads) and reduce it to peaks, streaming.

    `workers` caps the parallel slices (default: the cores, at most 4; 1 for short files).
    """
    path = Path(path)
    check_file(path)
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
    peaks = _peaks_with_libopus(path, buckets_per_second, workers)
    if peaks is not None:
        return peaks
    duration_s = _duration_s(path)
    if duration_s is None or duration_s < PARALLEL_FROM_S:
        workers = 1
    if workers <= 1 or duration_s is None:
        accumulator = PeakAccumulator(PEAKS_RATE, buckets_per_second)
        _decode_into(path, None, None, accumulator)
        return accumulator.peaks()

    # Slices on whole seconds, so each starts on a bucket boundary; each later one starts
    # early and drops its lead.
    seconds = math.ceil(duration_s)
    step = math.ceil(seconds / workers)
    starts = list(range(0, seconds, step))
    slices = [PeakAccumulator(PEAKS_RATE, buckets_per_second) for _ in starts]

    def job(i: int) -> Callable[[], None]:
        lead = PREROLL_S if i else 0
        length = None if i == len(starts) - 1 else step + lead
        return lambda: _decode_into(path, starts[i] - lead, length, slices[i])

    _run_side_by_side([job(i) for i in range(len(starts))])
    lead_buckets = PREROLL_S * buckets_per_second
    step_buckets = step * buckets_per_second
    tail = max(slices[-1].samples - (PREROLL_S * PEAKS_RATE if len(slices) > 1 else 0), 0)
    return _joined(
        slices,
        [lead_buckets if i else 0 for i in range(len(slices))],
        [step_buckets] * (len(slices) - 1),
        samples=step * PEAKS_RATE * (len(slices) - 1) + tail,
    )


def _peaks_with_libopus(path: Path, buckets_per_second: int, workers: int) -> Peaks | None:
    """A stored recording's peaks decoded by libopus in slices; None: not for this path."""
    try:
        stream = read_stream(path)
    except OSError:
        return None  # ffmpeg's path reports it in words
    if stream is None:
        return None
    rate = DECODE_RATE
    total = stream.sample_count(rate)
    per_bucket = rate // buckets_per_second
    if total <= 0 or rate % buckets_per_second:
        return None
    if total < PARALLEL_FROM_S * rate:
        workers = 1
    # Slice ends on bucket boundaries, so the slices' buckets join without a seam.
    bounds = [0, *(total * i // workers // per_bucket * per_bucket for i in range(1, workers))]
    bounds.append(total)
    try:
        if workers == 1:
            accumulator = PeakAccumulator(rate, buckets_per_second)
            stream.decode(rate, 0, total, 0, accumulator.feed_samples)
            return accumulator.peaks()
        return _peaks_of_slices(path, bounds, buckets_per_second)
    except Undecodable as exc:
        log.info("libopus could not decode %s (%s); decoding it with ffmpeg", path, exc)
        return None


def _peaks_of_slices(path: Path, bounds: list[int], buckets_per_second: int) -> Peaks:
    """Each slice [bounds[i], bounds[i + 1]) decoded by its own process (`main` below): in
    threads of one process the decoders kept waiting on each other for the GIL, once per
    packet (~15% of an hour's decoding)."""
    per_bucket = DECODE_RATE // buckets_per_second
    last = len(bounds) - 2
    fits = [(bounds[i + 1] - bounds[i]) // per_bucket for i in range(last)] + [-1]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", __name__, str(path)]
            + [str(n) for n in (bounds[i], bounds[i + 1], buckets_per_second, fit)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i, fit in enumerate(fits)
    ]
    try:
        outputs = [worker.communicate(timeout=SLICE_TIMEOUT_S) for worker in workers]
    except subprocess.TimeoutExpired as exc:
        raise Undecodable(f"a slice took over {SLICE_TIMEOUT_S} s") from exc
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    mins, maxs, samples = array("h"), array("h"), 0
    for worker, (out, err) in zip(workers, outputs, strict=True):
        if worker.returncode != 0:
            reason = err.decode("utf-8", "replace").strip().splitlines()
            raise Undecodable(reason[-1] if reason else f"a slice exited with {worker.returncode}")
        fed, count = _SLICE_HEADER.unpack_from(out)
        if len(out) != _SLICE_HEADER.size + 4 * count:
            raise Undecodable("a slice's peaks came back cut short")
        part = int16_le(out[_SLICE_HEADER.size :])
        mins.extend(part[:count])
        maxs.extend(part[count:])
        samples += fed
    return Peaks(
        duration_ms=samples * 1000 // DECODE_RATE,
        sample_rate=DECODE_RATE,
        buckets_per_second=buckets_per_second,
        mins=mins,
        maxs=maxs,
    )


def main(argv: list[str]) -> int:
    """One slice of a stored recording, for `_peaks_of_slices`: argv is path, first and end
    sample (at DECODE_RATE), buckets per second, and the exact bucket count to give (-1: as
    decoded). Writes the samples decoded and the bucket count (u64 each), then the minima
    and maxima as int16, little-endian. Exit 3: not for libopus (reason on stderr)."""
    path, begin, end, per_second, fit = Path(argv[0]), *map(int, argv[1:5])
    stream = read_stream(path)
    if stream is None:
        print(f"{path} is not plainly an Ogg Opus file", file=sys.stderr)
        return 3
    accumulator = PeakAccumulator(DECODE_RATE, per_second)
    try:
        stream.decode(DECODE_RATE, begin, end, PREROLL_S * DECODE_RATE, accumulator.feed_samples)
    except Undecodable as exc:
        print(exc, file=sys.stderr)
        return 3
    lows, highs = accumulator.mins_maxs(None if fit < 0 else fit)
    out = sys.stdout.buffer
    out.write(_SLICE_HEADER.pack(accumulator.samples, len(lows)))
    out.write(lows.astype("<i2").tobytes())
    out.write(highs.astype("<i2").tobytes())
    out.flush()
    return 0


def _run_side_by_side(jobs: list[Callable[[], None]]) -> None:
    """Each job in its own thread (the decoders let go of the GIL); the first failure is
    raised here, in the caller's thread."""
    failures: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(job,), daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def _joined(
    slices: list[PeakAccumulator], skips: list[int], counts: list[int], *, samples: int
) -> Peaks:
    """The slices' peaks end to end: each but the last fitted to exactly `counts[i]`
    buckets after dropping `skips[i]` (a slice decodes to within a few samples of its
    length, and no later bucket may shift in time)."""
    lows, highs = [], []
    for i, accumulator in enumerate(slices):
        count = counts[i] + skips[i] if i < len(counts) else None
        lo, hi = accumulator.mins_maxs(count)
        lows.append(lo[skips[i] :])
        highs.append(hi[skips[i] :])
    first = slices[0]
    return Peaks(
        duration_ms=samples * 1000 // first.sample_rate,
        sample_rate=first.sample_rate,
        buckets_per_second=first.buckets_per_second,
        mins=_to_array(np.concatenate(lows)),
        maxs=_to_array(np.concatenate(highs)),
    )


# -- helpers -----------------------------------------------------------------------------------


def _decode_into(
    path: Path, start_s: int | None, length_s: int | None, accumulator: PeakAccumulator
) -> None:
    command = [ffmpeg_path(), "-nostdin", "-hide_banner", "-nostats", "-v", "error"]
    if start_s:
        command += ["-ss", str(start_s)]
    if length_s is not None:
        command += ["-t", str(length_s)]
    command += [
        "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(accumulator.sample_rate),
        "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1",
    ]  # fmt: skip
    run_ffmpeg(command, path, accumulator.feed, "its waveform cannot be drawn")


def _duration_s(path: Path) -> float | None:
    """The container's own idea of the length (a quick ffprobe), only to plan the slices."""
    result = subprocess.run(
        [
            "ffprobe", "-v", "error", "-show_entries", "format=duration",
            "-of", "default=noprint_wrappers=1:nokey=1", str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    try:
        seconds = float(result.stdout.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _fit(values: Int16Array, count: int) -> Int16Array:
    if len(values) >= count:
        return values[:count]
    return np.concatenate((values, np.zeros(count - len(values), dtype=np.int16)))


def _to_array(values: Sequence[int] | Int16Array) -> array[int]:
    out = array("h")
    out.frombytes(np.ascontiguousarray(values, dtype=np.int16).tobytes())
    return out


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
