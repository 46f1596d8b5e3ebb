"""Importing recordings on real audio made here (espeak-ng Chinese speech, sox tones):
normalised, mono 16 kHz Opus, stored atomically with its checksum; and every kind of bad
file reported by name and reason."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from agent_desk.audio import recordings
from agent_desk.audio.recordings import (
    MP3,
    RecordingCorrupt,
    RecordingEmpty,
    RecordingError,
    RecordingMissing,
    RecordingNotAudio,
    RecordingTruncated,
    import_recording,
    normalisation_gain,
    recording_path,
)

DAY = dt.date(2026, 11, 23)
SPEECH = "您好，我是客服中心"


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:  # `make test` installs them: a missing tool is a broken set-up
        pytest.fail(f"{tool} is not installed: run `make test` (it installs the system packages)")
    return found


def speech_wav(path: Path, text: str = SPEECH) -> Path:
    subprocess.run([need("espeak-ng"), "-v", "cmn", "-w", str(path), text], check=True)
    return path


def tone_wav(
    path: Path,
    seconds: float,
    *,
    rate: int = 8000,
    channels: int = 1,
    amplitude: float = 0.5,
    freq: int = 440,
    silence_first: float = 0.0,
) -> Path:
    """A sine of known amplitude (after `silence_first` seconds of silence), 16-bit."""
    command = [
        need("sox"),
        "-V1",
        "-n",
        "-r",
        str(rate),
        "-c",
        str(channels),
        "-b",
        "16",
        str(path),
    ]
    command += ["synth", str(seconds), "sine", str(freq), "vol", str(amplitude)]
    if silence_first:
        command += ["pad", str(silence_first), "0"]
    subprocess.run(command, check=True)
    return path


def decode(path: Path, rate: int = 16_000) -> np.ndarray:
    """A recording as mono float samples in -1..1 at `rate`, decoded by ffmpeg."""
    to_pcm = ["-f", "s16le", "-ac", "1", "-ar", str(rate), "-"]
    raw = subprocess.run(
        [need("ffmpeg"), "-nostdin", "-v", "error", "-i", str(path), *to_pcm],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768


def seconds_of(path: Path) -> float:
    out = subprocess.run(
        [need("ffprobe"), "-v", "error", "-of", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(out.stdout)["format"]["duration"])


def ffprobe_stream(path: Path) -> dict[str, object]:
    out = subprocess.run(
        [need("ffprobe"), "-v", "error", "-of", "json", "-show_streams", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    stream: dict[str, object] = json.loads(out.stdout)["streams"][0]
    return stream


def rms_dbfs(path: Path) -> tuple[float, float]:
    """(mean, max) dBFS of a file decoded to mono 16 kHz, as ffmpeg's volumedetect says."""
    out = subprocess.run(
        [
            *(need("ffmpeg"), "-nostdin", "-hide_banner", "-nostats", "-i", str(path)),
            *("-af", "aformat=channel_layouts=mono,volumedetect", "-f", "null", "-"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    values = {}
    for line in out.splitlines():
        for key in ("mean_volume", "max_volume"):
            if f"{key}:" in line:
                values[key] = float(line.split(f"{key}:")[1].split("dB")[0])
    return values["mean_volume"], values["max_volume"]


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="module")
def speech(audio_dir: Path) -> Path:
    return speech_wav(audio_dir / "speech.wav")


# -- good recordings ---------------------------------------------------------------------------


def test_chinese_speech_is_stored_as_mono_16k_opus_with_its_checksum(
    speech: Path, tmp_path: Path
) -> None:
    root = tmp_path / "recordings"
    info = import_recording(speech, root, "call-1", recorded_on=DAY)
    stored = root / info.path
    assert info.path == "2026/11/23/call-1.ogg"
    assert stored.is_file()
    assert info.checksum == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert info.bytes == stored.stat().st_size
    assert (info.sample_rate, info.channels, info.codec) == (16000, 1, "opus")
    assert info.duration_ms == pytest.approx(seconds_of(speech) * 1000, abs=60)
    assert seconds_of(stored) == pytest.approx(seconds_of(speech), abs=0.1)
    stream = ffprobe_stream(stored)
    assert (stream["codec_name"], stream["channels"]) == ("opus", 1)
    # Compact: espeak's 22 kHz WAV is several times the stored size.
    assert info.bytes * 4 < speech.stat().st_size
    assert leftovers(root) == [stored]  # no temporary file left behind


def test_loudness_is_normalised_on_both_paths(audio_dir: Path, tmp_path: Path) -> None:
    """A quiet stereo 44.1 kHz tone comes out at the target speech level, whether pydub
    converts it in memory or ffmpeg streams it."""
    quiet = tone_wav(audio_dir / "quiet.wav", 3, rate=44100, channels=2, amplitude=0.05)
    mean_in, max_in = rms_dbfs(quiet)
    expected_gain = normalisation_gain(mean_in, max_in)
    assert expected_gain == pytest.approx(recordings.TARGET_MEAN_DBFS - mean_in, abs=0.2)
    results = []
    for key, limit in (("in-memory", recordings.IN_MEMORY_LIMIT), ("streamed", 0)):
        info = import_recording(quiet, tmp_path, key, recorded_on=DAY, in_memory_limit=limit)
        mean_out, max_out = rms_dbfs(tmp_path / info.path)
        assert info.gain_db == pytest.approx(expected_gain, abs=0.3), key
        assert mean_out == pytest.approx(recordings.TARGET_MEAN_DBFS, abs=1.0), key
        assert max_out < 0, key
        results.append(info)
    memory, streamed = results
    assert memory.duration_ms == pytest.approx(3000, abs=20)
    assert streamed.duration_ms == pytest.approx(3000, abs=20)


def test_a_loud_recording_is_never_pushed_into_clipping() -> None:
    # Speech already at -12 dBFS RMS whose peaks touch -0.5 dBFS: turned down, not up.
    assert normalisation_gain(-12.0, -0.5) == pytest.approx(-8.0)
    # Quiet speech with one loud click: brought up only as far as the click allows.
    assert normalisation_gain(-40.0, -6.0) == pytest.approx(5.0)
    # A near-silent line is not amplified into hiss beyond the cap, and silence not at all.
    assert normalisation_gain(-70.0, -50.0) == recordings.MAX_GAIN_DB
    assert normalisation_gain(float("-inf"), float("-inf")) == 0.0


def test_the_pcm_hook_sees_the_stored_audio_at_8k(speech: Path, tmp_path: Path) -> None:
    for limit in (recordings.IN_MEMORY_LIMIT, 0):
        chunks: list[bytes] = []
        info = import_recording(
            speech, tmp_path, f"hook-{limit}", pcm_hook=chunks.append, in_memory_limit=limit
        )
        samples = sum(len(c) for c in chunks) // 2
        assert samples * 1000 // 8000 == pytest.approx(info.duration_ms, abs=30)


def test_mp3_when_ffmpeg_has_no_opus(
    speech: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recordings, "speech_encoder", lambda: MP3)
    info = import_recording(speech, tmp_path, "call-mp3", recorded_on=DAY)
    assert info.path == "2026/11/23/call-mp3.mp3" and info.codec == "mp3"
    assert ffprobe_stream(tmp_path / info.path)["codec_name"] == "mp3"


def test_this_ffmpeg_writes_opus() -> None:
    assert recordings.speech_encoder().codec == "opus"


def test_a_second_import_replaces_the_file_atomically(speech: Path, tmp_path: Path) -> None:
    first = import_recording(speech, tmp_path, "again", recorded_on=DAY)
    tone = tone_wav(tmp_path / "tone.wav", 1.0)
    second = import_recording(tone, tmp_path, "again", recorded_on=DAY)
    assert first.path == second.path
    assert second.checksum == hashlib.sha256((tmp_path / second.path).read_bytes()).hexdigest()
    assert second.duration_ms == pytest.approx(1000, abs=20)
    assert not list(tmp_path.rglob("*.part"))


def test_session_keys_and_refs_stay_inside_the_root(speech: Path, tmp_path: Path) -> None:
    for key in ("../escape", "a/b", "", ".hidden", "x" * 129):
        with pytest.raises(ValueError, match="session key"):
            import_recording(speech, tmp_path, key)
    assert recording_path(tmp_path, "2026/11/23/c.ogg") == tmp_path / "2026" / "11" / "23" / "c.ogg"
    for ref in ("../etc/passwd", "/etc/passwd", "2026/../../x", ""):
        with pytest.raises(ValueError, match="not a path inside"):
            recording_path(tmp_path, ref)


# -- bad files ---------------------------------------------------------------------------------


def cut_in_half(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def expect(error: type[RecordingError], path: Path, root: Path, *words: str) -> RecordingError:
    with pytest.raises(error) as caught:
        import_recording(path, root, "bad", recorded_on=DAY)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    for word in words:
        assert word in message
    # Never ffmpeg's own output.
    assert "ffmpeg" not in message.lower() and "Invalid data" not in message
    assert "\n" not in message
    assert leftovers(root) == []  # nothing half-written
    return caught.value


def test_a_missing_file(tmp_path: Path) -> None:
    expect(RecordingMissing, tmp_path / "nowhere.wav", tmp_path / "root", "no such file")
    (tmp_path / "folder.wav").mkdir()
    expect(RecordingMissing, tmp_path / "folder.wav", tmp_path / "root", "not a file")


def test_an_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.touch()
    expect(RecordingEmpty, empty, tmp_path / "root", "empty", "0 bytes")


def test_a_wav_with_no_samples(tmp_path: Path) -> None:
    header_only = tmp_path / "no-samples.wav"
    subprocess.run(
        [need("sox"), "-V1", "-n", "-r", "8000", "-c", "1", str(header_only), "trim", "0", "0"],
        check=True,
    )
    expect(RecordingEmpty, header_only, tmp_path / "root", "no audio samples")


def test_a_truncated_wav(speech: Path, tmp_path: Path) -> None:
    half = cut_in_half(speech, tmp_path / "half.wav")
    full_s, half_s = seconds_of(speech), seconds_of(speech) / 2
    error = expect(RecordingTruncated, half, tmp_path / "root", "truncated")
    assert f"{full_s:.1f} s" in str(error) and f"{half_s:.1f} s" in str(error)


def test_a_truncated_wav_with_a_damaged_header(speech: Path, tmp_path: Path) -> None:
    broken = bytearray(cut_in_half(speech, tmp_path / "broken.wav").read_bytes())
    broken[20:36] = b"garbagegarbage!!"  # the format chunk: coding, channels, rate
    (tmp_path / "broken.wav").write_bytes(bytes(broken))
    expect(RecordingCorrupt, tmp_path / "broken.wav", tmp_path / "root", "damaged", "WAV")


def test_a_wav_whose_chunks_are_garbled(speech: Path, tmp_path: Path) -> None:
    data = bytearray(speech.read_bytes())
    data[12:20] = b"XXXX" + struct.pack("<I", 0x7FFFFFFF)  # a chunk longer than the file
    garbled = tmp_path / "garbled.wav"
    garbled.write_bytes(bytes(data))
    expect(RecordingCorrupt, garbled, tmp_path / "root", "damaged")


def test_a_damaged_ogg(speech: Path, tmp_path: Path) -> None:
    good = import_recording(speech, tmp_path / "first", "ok", recorded_on=DAY)
    data = bytearray((tmp_path / "first" / good.path).read_bytes())
    data[4:200] = bytes(196)  # the Ogg page headers: no stream can be found
    damaged = tmp_path / "damaged.ogg"
    damaged.write_bytes(bytes(data))
    expect(RecordingCorrupt, damaged, tmp_path / "root", "damaged")


def test_a_text_file_renamed_wav(tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("客户来电反映空调不制冷，已登记。\nThis is not audio.\n", encoding="utf-8")
    expect(RecordingNotAudio, text, tmp_path / "root", "not audio", "text file")


def test_binary_junk_renamed_mp3(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(bytes(range(1, 256)) * 40)
    expect(RecordingNotAudio, junk, tmp_path / "root", "not audio")


def test_an_image_is_not_audio(speech: Path, tmp_path: Path) -> None:
    picture = tmp_path / "picture.wav"
    subprocess.run(
        [
            *(need("ffmpeg"), "-nostdin", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=8x8"),
            *("-frames:v", "1", "-f", "image2", "-c:v", "png", str(picture)),
        ],
        check=True,
    )
    expect(RecordingNotAudio, picture, tmp_path / "root", "not an audio file", "video")


def test_other_desks_can_read_what_an_import_stored(speech: Path, tmp_path: Path) -> None:
    """A shared recordings folder: the file gets the umask's permissions, not owner-only."""
    from agent_desk.audio.peaks import import_recording_with_peaks

    old = os.umask(0o022)
    try:
        info, _ = import_recording_with_peaks(speech, tmp_path, "shared", tmp_path / ".peaks")
    finally:
        os.umask(old)
    assert (tmp_path / info.path).stat().st_mode & 0o777 == 0o644
    (cached,) = (tmp_path / ".peaks").iterdir()
    assert cached.stat().st_mode & 0o777 == 0o644
