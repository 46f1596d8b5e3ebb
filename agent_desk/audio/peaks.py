"""Waveform peaks: the smallest and largest sample of every 20 ms, for drawing a whole call.

Only peaks sit in memory, 50 pairs a second, 720 KB for an hour; computing them (decoding
the audio, `peak_decoding`) is the expensive part, and this module, which a replay needs,
loads neither numpy nor the decoders until a recording has no cached peaks.

Peaks are computed once: `load_or_compute_peaks` keeps them in a cache folder, one small
binary file per recording, named by the recording's checksum (so a re-imported or changed
recording never shows stale peaks), and an import can write them as a by-product
(`import_recording_with_peaks`), so even the first replay reads them from the cache. Put the
cache next to the recordings (`<recordings root>/.peaks`) and every desk shares it.

Cache file: a 32-byte header, then (min, max) int16 little-endian pairs, one per bucket:
    magic b"ADPK" · format version u16 · buckets per second u16 · sample rate u32 ·
    duration ms u64 · bucket count u64 · 4 reserved bytes
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import struct
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

from agent_desk.audio.recordings import (
    PEAKS_RATE,
    RecordingInfo,
    check_file,
    file_checksum,
    import_recording,
    new_temp_file,
)

log = logging.getLogger(__name__)

BUCKETS_PER_SECOND = 50
MAGIC = b"ADPK"
FORMAT_VERSION = 1
_HEADER = struct.Struct("<4sHHIQQ4x")


@dataclass(frozen=True)
class Peaks:
    """min/max per bucket of `1000 / buckets_per_second` ms; the last bucket may be shorter."""

    duration_ms: int
    sample_rate: int  # of the PCM the peaks were taken from
    buckets_per_second: int
    mins: array[int]  # array('h')
    maxs: array[int]

    def __len__(self) -> int:
        return len(self.mins)

    @property
    def bucket_ms(self) -> float:
        return 1000 / self.buckets_per_second

    def bucket_at(self, position_ms: int) -> int:
        """The bucket that holds `position_ms` (clamped to the recording)."""
        if not self.mins:
            return 0
        return min(max(int(position_ms * self.buckets_per_second // 1000), 0), len(self) - 1)

    def columns(
        self, width: int, start_ms: int = 0, end_ms: int | None = None
    ) -> tuple[array[int], array[int]]:
        """(mins, maxs) of `width` pixel columns spanning start..end: what a view draws.

        Each column takes the extremes of the buckets under it, so a short loud word never
        disappears when a whole hour is squeezed into a few hundred pixels.
        """
        if width <= 0 or not self.mins:
            return array("h"), array("h")
        end = self.duration_ms if end_ms is None else end_ms
        first = self.bucket_at(start_ms)
        last = max(first + 1, min(len(self), math.ceil(end * self.buckets_per_second / 1000)))
        count = last - first
        starts = [first + min(column * count // width, count - 1) for column in range(width)]
        ends = [*starts[1:], last]
        col_min, col_max = array("h"), array("h")
        for start, stop in zip(starts, ends, strict=True):
            # Narrower than a bucket: a column repeats the bucket under it.
            stop = max(stop, start + 1)
            col_min.append(min(self.mins[start:stop]))
            col_max.append(max(self.maxs[start:stop]))
        return col_min, col_max


def load_or_compute_peaks(
    path: Path,
    cache_dir: Path,
    buckets_per_second: int = BUCKETS_PER_SECOND,
    *,
    checksum: str | None = None,
) -> Peaks:
    """The cached peaks of `path`, computing and caching them the first time.

    `checksum` (the sha256 the database holds for the recording) saves hashing the file.
    A cache that cannot be read is recomputed; one that cannot be written is only logged:
    neither ever stops a replay.
    """
    path = Path(path)
    check_file(path)
    key = checksum or file_checksum(path)
    cached = cache_file(cache_dir, key, buckets_per_second)
    peaks = read_peaks(cached)
    if peaks is not None and peaks.buckets_per_second == buckets_per_second:
        return peaks
    from agent_desk.audio.peak_decoding import compute_peaks

    peaks = compute_peaks(path, buckets_per_second)
    try:
        write_peaks(cached, peaks)
    except OSError as exc:
        log.warning("waveform cache %s not written: %s", cached, exc)
    return peaks


def import_recording_with_peaks(
    source: Path,
    root: Path,
    session_key: str,
    cache_dir: Path,
    *,
    recorded_on: dt.date | None = None,
    buckets_per_second: int = BUCKETS_PER_SECOND,
) -> tuple[RecordingInfo, Peaks]:
    """`import_recording`, and the stored audio's peaks cached on the way (no second decode)."""
    from agent_desk.audio.peak_decoding import PeakAccumulator

    accumulator = PeakAccumulator(PEAKS_RATE, buckets_per_second)
    info = import_recording(
        source, root, session_key, recorded_on=recorded_on, pcm_hook=accumulator.feed
    )
    peaks = accumulator.peaks()
    try:
        write_peaks(cache_file(cache_dir, info.checksum, buckets_per_second), peaks)
    except OSError as exc:
        log.warning("waveform cache for %s not written: %s", info.path, exc)
    return info, peaks


def int16_le(data: bytes) -> array[int]:
    """Little-endian 16-bit samples (the cache's, and a slice worker's) as an array('h')."""
    values = array("h")
    values.frombytes(data)
    if sys.byteorder == "big":
        values.byteswap()
    return values


# -- the cache file ----------------------------------------------------------------------------


def shared_cache_dir(recordings_root: Path) -> Path:
    """The peaks cache beside the recordings, so every desk reads what an import wrote."""
    return Path(recordings_root) / ".peaks"


def cache_file(cache_dir: Path, checksum: str, buckets_per_second: int) -> Path:
    return Path(cache_dir) / f"{checksum}-{buckets_per_second}.peaks"


def write_peaks(target: Path, peaks: Peaks) -> None:
    """Write atomically: a desk reading the shared cache never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    header = _HEADER.pack(
        MAGIC,
        FORMAT_VERSION,
        peaks.buckets_per_second,
        peaks.sample_rate,
        peaks.duration_ms,
        len(peaks),
    )
    pairs = array("h", bytes(4 * len(peaks)))
    pairs[0::2] = peaks.mins
    pairs[1::2] = peaks.maxs
    if sys.byteorder == "big":
        pairs.byteswap()
    tmp = new_temp_file(target.parent, ".peaks.")
    try:
        with open(tmp, "wb") as f:
            f.write(header)
            f.write(pairs.tobytes())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def read_peaks(source: Path) -> Peaks | None:
    """The peaks in a cache file, or None when it is missing or not a whole, valid file."""
    try:
        data = Path(source).read_bytes()
    except OSError:
        return None
    if len(data) < _HEADER.size:
        return None
    magic, version, per_second, rate, duration_ms, count = _HEADER.unpack_from(data)
    if magic != MAGIC or version != FORMAT_VERSION or len(data) != _HEADER.size + 4 * count:
        log.warning("waveform cache %s is damaged; computing the peaks again", source)
        return None
    pairs = int16_le(data[_HEADER.size :])
    return Peaks(
        duration_ms=duration_ms,
        sample_rate=rate,
        buckets_per_second=per_second,
        mins=pairs[0::2],
        maxs=pairs[1::2],
    )
