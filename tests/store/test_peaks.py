"""Waveform peaks: right amplitude, right length, right place in time; cached by checksum;
the same whether decoded in one go, in slices, or taken from an import."""

from __future__ import annotations

import datetime as dt
from array import array
from pathlib import Path

import numpy as np
import pytest

from agent_desk.audio import peak_decoding
from agent_desk.audio.peak_decoding import PeakAccumulator, compute_peaks
from agent_desk.audio.peaks import (
    Peaks,
    cache_file,
    import_recording_with_peaks,
    load_or_compute_peaks,
    read_peaks,
    write_peaks,
)
from agent_desk.audio.recordings import RecordingCorrupt, RecordingMissing, file_checksum
from tests.store.test_recordings import speech_wav, tone_wav

HALF_SCALE = 0.5 * 32767


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One second of silence, then two seconds of a 440 Hz sine at half scale."""
    return tone_wav(
        tmp_path_factory.mktemp("peaks") / "tone.wav", 2.0, amplitude=0.5, silence_first=1.0
    )


def test_peaks_of_a_known_tone(tone: Path) -> None:
    peaks = compute_peaks(tone)
    assert peaks.duration_ms == 3000
    assert (peaks.sample_rate, peaks.buckets_per_second) == (8000, 50)
    assert len(peaks) == 150 and len(peaks.maxs) == 150
    silence, sound = slice(0, 50), slice(50, 150)
    # Silence (sox leaves a least-significant-bit hiss, and its band-limited sine rings a
    # few samples ahead of its start).
    assert max(peaks.maxs[silence]) < HALF_SCALE * 0.01
    assert min(peaks.mins[silence]) > -HALF_SCALE * 0.01
    # A 20 ms bucket holds 8.8 cycles of 440 Hz: every one reaches the crest and the trough.
    assert all(abs(v - HALF_SCALE) < HALF_SCALE * 0.02 for v in peaks.maxs[sound])
    assert all(abs(v + HALF_SCALE) < HALF_SCALE * 0.02 for v in peaks.mins[sound])
    assert peaks.bucket_at(1000) == 50
    assert peaks.bucket_at(-5) == 0 and peaks.bucket_at(10**9) == 149


def test_columns_keep_the_extremes_when_squeezed(tone: Path) -> None:
    peaks = compute_peaks(tone)
    mins, maxs = peaks.columns(3)  # a second per column
    assert len(mins) == len(maxs) == 3
    assert (
        maxs[0] < HALF_SCALE * 0.01
        and abs(maxs[1] - HALF_SCALE) < 400
        and abs(maxs[2] - HALF_SCALE) < 400
    )
    assert mins[1] < -HALF_SCALE * 0.98
    # A window, wider than its buckets (columns repeat the bucket under them).
    mins, maxs = peaks.columns(20, start_ms=900, end_ms=1100)
    assert len(maxs) == 20 and maxs[0] < HALF_SCALE * 0.01 and maxs[-1] > HALF_SCALE * 0.98
    assert peaks.columns(0) == (array("h"), array("h"))


def test_slices_decoded_in_parallel_match_one_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    speech = speech_wav(tmp_path / "speech.wav", "您好，我是客服中心，请问有什么可以帮您？" * 2)
    whole = compute_peaks(speech, workers=1)
    monkeypatch.setattr(peak_decoding, "PARALLEL_FROM_S", 0.0)
    for workers in (2, 3):
        sliced = compute_peaks(speech, workers=workers)
        assert sliced.duration_ms == whole.duration_ms
        assert len(sliced) == len(whole)
        assert sliced == whole


def test_feeding_in_odd_chunks_changes_nothing() -> None:
    rng = np.random.default_rng(7)
    pcm = rng.integers(-32768, 32767, size=8000 * 3 + 77, dtype=np.int16).astype("<i2").tobytes()
    once = PeakAccumulator()
    once.feed(pcm)
    bits = PeakAccumulator()
    position = 0
    for size in (1, 3, 1000, 159, 160, 161, 2, 7777):
        bits.feed(pcm[position : position + size])
        position += size
    bits.feed(pcm[position:])
    assert once.peaks() == bits.peaks()
    result = once.peaks()
    assert len(result) == 151  # 150 full buckets and the 77 samples after them
    samples = np.frombuffer(pcm, dtype="<i2")
    assert result.maxs[150] == samples[-77:].max() and result.mins[0] == samples[:160].min()
    with pytest.raises(ValueError, match="do not divide"):
        PeakAccumulator(8000, 3)


def test_the_cache_returns_the_same_peaks_without_decoding(
    tone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    first = load_or_compute_peaks(tone, cache)
    stored = cache_file(cache, file_checksum(tone), 50)
    assert stored.is_file() and stored.stat().st_size == 32 + 4 * len(first)

    def no_decoding(*_args: object, **_kwargs: object) -> Peaks:
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(peak_decoding, "compute_peaks", no_decoding)
    assert load_or_compute_peaks(tone, cache) == first
    assert load_or_compute_peaks(tone, cache, checksum=file_checksum(tone)) == first


def test_a_damaged_cache_is_computed_again(tone: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    good = load_or_compute_peaks(tone, cache)
    target = cache_file(cache, file_checksum(tone), 50)
    target.write_bytes(target.read_bytes()[:-3])  # cut short
    assert read_peaks(target) is None
    assert load_or_compute_peaks(tone, cache) == good
    target.write_bytes(b"NOPE" + target.read_bytes()[4:])
    assert load_or_compute_peaks(tone, cache) == good
    assert read_peaks(target) == good  # and written back whole


def test_a_cache_that_cannot_be_written_does_not_stop_the_replay(
    tone: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    assert load_or_compute_peaks(tone, blocker) == compute_peaks(tone)


def test_a_changed_recording_never_shows_stale_peaks(tone: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = tmp_path / "rec.wav"
    first.write_bytes(tone.read_bytes())
    old = load_or_compute_peaks(first, cache)
    tone_wav(first, 1.0, amplitude=0.25)
    new = load_or_compute_peaks(first, cache)
    assert new != old and new.duration_ms == 1000


def test_write_and_read_round_trip(tmp_path: Path) -> None:
    peaks = Peaks(1234, 8000, 50, array("h", [-32768, -5, 0]), array("h", [32767, 5, 0]))
    write_peaks(tmp_path / "p.peaks", peaks)
    assert read_peaks(tmp_path / "p.peaks") == peaks
    assert read_peaks(tmp_path / "missing.peaks") is None


def test_an_import_caches_the_peaks_of_what_it_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    speech = speech_wav(tmp_path / "speech.wav")
    root, cache = tmp_path / "recordings", tmp_path / "recordings" / ".peaks"
    info, made = import_recording_with_peaks(
        speech, root, "call-7", cache, recorded_on=dt.date(2026, 11, 23)
    )
    stored = root / info.path
    assert cache_file(cache, info.checksum, 50).is_file()
    decoded = compute_peaks(stored)
    # Taken before encoding, the peaks differ from the decoded Opus only by codec noise.
    assert abs(len(made) - len(decoded)) <= 2
    assert made.duration_ms == pytest.approx(decoded.duration_ms, abs=40)
    assert max(made.maxs) == pytest.approx(max(decoded.maxs), rel=0.15)

    monkeypatch.setattr(peak_decoding, "compute_peaks", lambda *a, **k: pytest.fail("decoded"))
    assert load_or_compute_peaks(stored, cache, checksum=info.checksum) == made


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(RecordingMissing):
        compute_peaks(tmp_path / "gone.ogg")
    junk = tmp_path / "junk.ogg"
    junk.write_bytes(b"OggS" + bytes(500))
    with pytest.raises(RecordingCorrupt, match=r"junk\.ogg: .*damaged"):
        compute_peaks(junk)
