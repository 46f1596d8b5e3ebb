"""Stored recordings decoded by libopus for their waveform: the same peaks as ffmpeg's
decode, the same whatever the slices or the paging, and ffmpeg again for anything that is
not plainly an Ogg Opus file we wrote."""

from __future__ import annotations

import ctypes
import datetime as dt
import logging
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from agent_desk.audio import peak_decoding
from agent_desk.audio.ogg_opus import OPUS_RATE, OpusStream, read_stream
from agent_desk.audio.peak_decoding import compute_peaks
from agent_desk.audio.peaks import Peaks
from agent_desk.audio.recordings import RecordingCorrupt, import_recording
from tests.store.test_recordings import decode, need, speech_wav, tone_wav

TEXT = "您好，我是客服中心，请问有什么可以帮您？非常抱歉给您带来不便。"


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Chinese speech as the store keeps it (normalised, 16 kHz mono Opus in Ogg)."""
    work = tmp_path_factory.mktemp("ogg-opus")
    info = import_recording(
        speech_wav(work / "speech.wav", TEXT), work / "rec", "call-1", recorded_on=dt.date.today()
    )
    return work / "rec" / info.path


def with_ffmpeg(path: Path, monkeypatch: pytest.MonkeyPatch) -> Peaks:
    with monkeypatch.context() as patch:
        patch.setattr(peak_decoding, "_peaks_with_libopus", lambda *a: None)
        return compute_peaks(path, workers=1)


def libopus_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peak_decoding, "_decode_into", lambda *a: pytest.fail("ffmpeg ran"))


def test_a_stored_recording_is_decoded_by_libopus_like_ffmpeg_decodes_it(
    stored: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_ffmpeg = with_ffmpeg(stored, monkeypatch)
    libopus_only(monkeypatch)
    peaks = compute_peaks(stored)
    assert peaks.sample_rate == 16000 and peaks.buckets_per_second == 50
    # Same length (to a bucket), same loud and quiet places: only resampling differs.
    assert peaks.duration_ms == pytest.approx(by_ffmpeg.duration_ms, abs=20)
    assert abs(len(peaks) - len(by_ffmpeg)) <= 1
    n = min(len(peaks), len(by_ffmpeg))
    ours = np.frombuffer(peaks.maxs, np.int16)[:n].astype(float)
    theirs = np.frombuffer(by_ffmpeg.maxs, np.int16)[:n].astype(float)
    assert ours.max() == pytest.approx(theirs.max(), rel=0.15)
    assert np.corrcoef(ours, theirs)[0, 1] > 0.95
    loud = ours > 0.25 * ours.max()
    assert 0.2 < loud.mean() < 0.95  # speech with pauses, not silence or noise


def test_slices_decoded_side_by_side_match_one_decode(
    stored: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    libopus_only(monkeypatch)
    whole = compute_peaks(stored, workers=1)
    monkeypatch.setattr(peak_decoding, "PARALLEL_FROM_S", 0.0)
    for workers in (2, 3, 4):
        assert compute_peaks(stored, workers=workers) == whole


def test_the_stream_length_comes_from_the_last_granule(stored: Path) -> None:
    stream = read_stream(stored)
    assert stream is not None
    # ffmpeg drops the pre-skip and trims the end to the last granule too.
    assert stream.sample_count(OPUS_RATE) / OPUS_RATE == pytest.approx(
        ffmpeg_duration(stored), abs=0.0001
    )
    assert stream.entry_packets[0] == 0 and stream.entry_granules[0] == 0


def test_packets_that_span_pages_decode_the_same(
    stored: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Packets of ~3 KB (256 kbit/s, 60 ms: 12 lacing segments each) in full pages (libogg
    # ends a page at 255 segments, mid-packet, when asked for pages bigger than that).
    big = tmp_path / "big-packets.ogg"
    subprocess.run(
        [
            need("ffmpeg"), "-v", "error", "-i", str(stored), "-c:a", "libopus",
            "-b:a", "256k", "-frame_duration", "60", str(big),
        ],
        check=True,
    )  # fmt: skip
    repaged = repage(big, tmp_path / "full-pages.ogg", page_bytes=1 << 20)
    original, again = read_stream(big), read_stream(repaged)
    assert original is not None and again is not None
    assert again.spill  # packets that span pages were joined
    assert packets(again) == packets(original)
    assert ffmpeg_duration(repaged) == pytest.approx(ffmpeg_duration(big), abs=0.0001)
    libopus_only(monkeypatch)
    monkeypatch.setattr(peak_decoding, "PARALLEL_FROM_S", 0.0)
    assert compute_peaks(repaged, workers=3) == compute_peaks(big, workers=1)


def test_anything_else_is_decoded_by_ffmpeg(
    stored: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ffmpeg = need("ffmpeg")
    wav = tone_wav(tmp_path / "tone.wav", 1.0)
    mp3 = tmp_path / "tone.mp3"
    subprocess.run([ffmpeg, "-v", "error", "-i", str(wav), str(mp3)], check=True)
    stereo = tmp_path / "stereo.ogg"
    subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(wav), "-ac", "2", "-c:a", "libopus", str(stereo)],
        check=True,
    )
    two_streams = tmp_path / "two.ogg"
    subprocess.run(
        [
            ffmpeg, "-v", "error", "-i", str(stored), "-i", str(stored),
            "-map", "0:a", "-map", "1:a", "-c", "copy", str(two_streams),
        ],
        check=True,
    )  # fmt: skip
    truncated = tmp_path / "truncated.ogg"
    truncated.write_bytes(stored.read_bytes()[: stored.stat().st_size * 2 // 3])
    for path in (wav, mp3, two_streams, truncated):
        assert read_stream(path) is None, path.name
    # A stereo Opus file is plain enough: libopus mixes it down.
    stream = read_stream(stereo)
    assert stream is not None and stream.sample_count(8000) == 8000
    peaks = compute_peaks(truncated)  # ffmpeg reads what is there
    assert 0 < peaks.duration_ms < with_ffmpeg(stored, monkeypatch).duration_ms


@pytest.mark.parametrize("slices", [1, 2], ids=["in-process", "a-process-per-slice"])
def test_a_packet_libopus_refuses_hands_the_file_to_ffmpeg(
    stored: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    slices: int,
) -> None:
    stream = read_stream(stored)
    assert stream is not None
    data = bytearray(stored.read_bytes())
    at = stream.offsets[len(stream.offsets) * 3 // 4]  # in the second slice
    data[at] |= 0x03  # frame count code 3 ...
    data[at + 1] = 0  # ... with zero frames: not a valid packet
    damaged = tmp_path / "damaged.ogg"
    damaged.write_bytes(data)
    caplog.set_level(logging.INFO, logger="agent_desk.audio.peak_decoding")
    monkeypatch.setattr(peak_decoding, "PARALLEL_FROM_S", 0.0)
    try:
        peaks = compute_peaks(damaged, workers=slices)
    except RecordingCorrupt:
        pass  # ffmpeg judged it: either way the replay was never given libopus's guess
    else:
        assert peaks.duration_ms > 0
    (said,) = [
        r.getMessage() for r in caplog.records if "decoding it with ffmpeg" in r.getMessage()
    ]
    assert "refused by libopus" in said


# -- helpers -----------------------------------------------------------------------------------


def packets(stream: OpusStream) -> list[bytes]:
    """Each audio packet's bytes, as the stream locates them (in the file or its spill)."""
    data, offsets, lengths = stream.path.read_bytes() + stream.spill, stream.offsets, stream.lengths
    return [bytes(data[o : o + n]) for o, n in zip(offsets, lengths, strict=True)]


def ffmpeg_duration(path: Path) -> float:
    """What ffmpeg decodes the file to, in seconds (it checks every page's CRC)."""
    return len(decode(path, OPUS_RATE)) / OPUS_RATE


def repage(source: Path, target: Path, page_bytes: int) -> Path:
    """`source`'s packets muxed again by libogg into pages of about `page_bytes` (libogg
    laces, numbers, checksums and flushes pages as real muxers do)."""
    stream = read_stream(source)
    assert stream is not None
    ogg, opus = ctypes.CDLL("libogg.so.0"), ctypes.CDLL("libopus.so.0")
    opus.opus_packet_get_nb_samples.argtypes = [ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]
    ogg.ogg_stream_init.argtypes = [ctypes.c_void_p, ctypes.c_int]
    for name in ("ogg_stream_packetin", "ogg_stream_flush", "ogg_stream_clear"):
        getattr(ogg, name).argtypes = [ctypes.c_void_p, ctypes.c_void_p][
            : 1 if "clear" in name else 2
        ]
    ogg.ogg_stream_pageout_fill.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
    state = ctypes.create_string_buffer(4096)  # ogg_stream_state is opaque here, and smaller
    page = OggPage()
    out = bytearray()

    def take(flush: bool) -> None:
        while (
            ogg.ogg_stream_flush(state, ctypes.byref(page))
            if flush
            else ogg.ogg_stream_pageout_fill(state, ctypes.byref(page), page_bytes)
        ):
            out.extend(ctypes.string_at(page.header, page.header_len))
            out.extend(ctypes.string_at(page.body, page.body_len))

    def put(
        data: bytes, number: int, granule: int, *, bos: bool = False, eos: bool = False
    ) -> None:
        buffer = ctypes.create_string_buffer(data, len(data))
        packet = OggPacket(
            ctypes.cast(buffer, ctypes.c_void_p), len(data), bos, eos, granule, number
        )
        assert ogg.ogg_stream_packetin(state, ctypes.byref(packet)) == 0

    assert ogg.ogg_stream_init(state, 7) == 0
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, stream.pre_skip, 16000, 0, 0)
    put(head, 0, 0, bos=True)
    take(flush=True)  # the identification header has a page of its own
    put(b"OpusTags" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0), 1, 0)
    take(flush=True)
    granule = 0
    audio = packets(stream)
    for n, data in enumerate(audio):
        granule += opus.opus_packet_get_nb_samples(data, len(data), OPUS_RATE)
        last = n == len(audio) - 1
        put(data, n + 2, stream.end_granule if last else granule, eos=last)
        take(flush=last)
    ogg.ogg_stream_clear(state)
    target.write_bytes(out)
    return target


class OggPacket(ctypes.Structure):
    _fields_ = [
        ("packet", ctypes.c_void_p),
        ("bytes", ctypes.c_long),
        ("b_o_s", ctypes.c_long),
        ("e_o_s", ctypes.c_long),
        ("granulepos", ctypes.c_int64),
        ("packetno", ctypes.c_int64),
    ]


class OggPage(ctypes.Structure):
    _fields_ = [
        ("header", ctypes.c_void_p),
        ("header_len", ctypes.c_long),
        ("body", ctypes.c_void_p),
        ("body_len", ctypes.c_long),
    ]
