"""Importing a call recording: check it, normalise it, store it compactly, checksum it.

Every recording, whatever it came as (the desk's own capture, a PBX WAV, an MP3 someone
attaches later), is stored the same way: mono, 16 kHz, loudness-normalised, Opus in Ogg at
24 kbit/s (MP3 at 32 kbit/s when the ffmpeg build has no libopus), under
`root/YYYY/MM/DD/<session_key>.ogg`, written to a temporary file, fsynced and renamed so a
reader of the (possibly shared) recordings root never sees half a file.

Two ways through, one result:

* Short sources go through pydub (`AudioSegment`), which holds the decoded audio in memory.
* Long ones would not fit: pydub keeps the whole decoded source plus a copy per step (mono,
  resample, gain), so an hour of 44.1 kHz stereo would take well over a gigabyte. Above
  `IN_MEMORY_LIMIT` bytes of decoded source the import runs ffmpeg directly instead, twice:
  a measuring pass (`volumedetect`) and an encoding pass with the gain as a plain `volume`
  filter. Both passes stream; this process only ever holds a pipe buffer.

Both ways apply the same loudness rule (`normalisation_gain`): bring the speech level (RMS)
to `TARGET_MEAN_DBFS` but never push a peak above `PEAK_CEILING_DBFS`, and never boost by
more than `MAX_GAIN_DB` (that would only make a near-silent line hiss). pydub's own
`effects.normalize` is peak-only: one click at full scale would leave a quiet call quiet.

A missing, empty, truncated, damaged or non-audio file raises a `RecordingError` subclass
whose message names the file and says what is wrong in words; ffmpeg's own output goes to
the log, never into the message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import os
import re
import secrets
import shutil
import struct
import subprocess
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import IO, Any

from agent_desk.paths import UserPaths

with warnings.catch_warnings():
    # pydub 0.25 imports the stdlib `audioop` (deprecated in 3.11, gone in 3.13, where the
    # audioop-lts package stands in) and has regexes with invalid escapes; both are pydub's,
    # and the test suite turns warnings into errors.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", SyntaxWarning)
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError, CouldntEncodeError
    from pydub.utils import mediainfo_json

log = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
SAMPLE_RATE = 16_000  # wide-band speech: everything a phone line carries, and a bit more
CHANNELS = 1
PEAKS_RATE = 8_000  # what the optional PCM hook receives (waveform peaks need no more)
TARGET_MEAN_DBFS = -20.0
PEAK_CEILING_DBFS = -1.0
MAX_GAIN_DB = 20.0
# Decoded source bytes (16-bit) that pydub may hold. It keeps the source and a copy per
# step, so the process grows by about five times this (measured: +76 MB for 16 MB); 8 MB
# still takes an 8-minute 8 kHz mono PBX call, a typical one, in memory.
IN_MEMORY_LIMIT = 8 * 1024 * 1024
SESSION_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_CHUNK = 64 * 1024


# -- errors ------------------------------------------------------------------------------------


class RecordingError(Exception):
    """A recording could not be imported; `str()` is `FILE: reason` for the operator."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


class RecordingMissing(RecordingError):
    """There is no file at that path (or it is not a regular file)."""


class RecordingEmpty(RecordingError):
    """The file has no bytes, or no audio samples."""


class RecordingTruncated(RecordingError):
    """The file ends before the audio its header announces."""


class RecordingCorrupt(RecordingError):
    """An audio file whose header or data cannot be decoded."""


class RecordingNotAudio(RecordingError):
    """Something else (text, an image, …) under an audio file name."""


class RecordingStoreError(RecordingError):
    """The recording was fine but could not be written (disk full, no permission, no ffmpeg)."""


# -- what comes out ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingInfo:
    """A stored recording: what `CallSession.recording_ref` and its event record."""

    path: str  # relative to the recordings root, with '/' separators
    checksum: str  # sha256 hex of the stored file
    duration_ms: int
    sample_rate: int
    channels: int
    bytes: int
    codec: str = "opus"
    gain_db: float = 0.0  # what normalisation applied


@dataclass(frozen=True)
class SpeechEncoder:
    ffmpeg_codec: str
    codec: str
    suffix: str
    container: str
    bitrate: str
    options: tuple[str, ...] = ()


OPUS = SpeechEncoder("libopus", "opus", ".ogg", "ogg", "24k", ("-application", "voip"))
MP3 = SpeechEncoder("libmp3lame", "mp3", ".mp3", "mp3", "32k")


@dataclass(frozen=True)
class SourceAudio:
    """What ffprobe says about a source file's first audio stream."""

    codec: str
    sample_rate: int
    channels: int
    duration_s: float | None
    # False where ffprobe estimates the length from the bit rate (MP3, raw AAC): a decode
    # shorter than that estimate proves nothing there.
    duration_reliable: bool = True
    container: str = ""  # ffprobe's first format name: "wav", "ogg", "mp3", …

    @property
    def decoded_bytes(self) -> int:
        """Roughly what pydub would hold for it decoded (16-bit samples)."""
        seconds = self.duration_s if self.duration_s is not None else math.inf
        if math.isinf(seconds):
            return 2**62
        return int(seconds * self.sample_rate * max(self.channels, 1) * 2)


PcmHook = Callable[[bytes], None]
Progress = Callable[[float], None]


# -- public ------------------------------------------------------------------------------------


def import_recording(
    source: Path,
    root: Path,
    session_key: str,
    *,
    recorded_on: dt.date | None = None,
    pcm_hook: PcmHook | None = None,
    progress: Progress | None = None,
    in_memory_limit: int = IN_MEMORY_LIMIT,
) -> RecordingInfo:
    """Check, normalise, convert and store `source`; return where and what it became.

    `recorded_on` picks the YYYY/MM/DD folder (default: today, UTC). `pcm_hook`, when given,
    receives the stored audio as 8 kHz mono s16le chunks, in order, while it is produced
    (the waveform peaks are made from it, so a fresh import needs no second decode).
    `progress` receives fractions 0..1 on the long path. Blocking: run it off the GUI thread.
    """
    if not SESSION_KEY.fullmatch(session_key):
        raise ValueError(
            f"session key {session_key!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    source = Path(source)
    check_file(source)
    audio = probe(source)
    encoder = speech_encoder()
    day = recorded_on or dt.datetime.now(dt.UTC).date()
    relative = PurePosixPath(f"{day:%Y/%m/%d}") / f"{session_key}{encoder.suffix}"
    target = Path(root) / relative
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = new_temp_file(target.parent, f".{session_key}.")
    except OSError as exc:
        raise RecordingStoreError(
            source, f"cannot write to the recordings folder {target.parent}: {exc.strerror}"
        ) from exc
    try:
        if audio.decoded_bytes <= in_memory_limit:
            duration_ms, gain = _convert_in_memory(source, audio, tmp, encoder, pcm_hook)
        else:
            duration_ms, gain = _convert_streaming(source, audio, tmp, encoder, pcm_hook, progress)
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except OSError as exc:
        raise RecordingStoreError(
            source, f"cannot store the recording as {target}: {exc.strerror or exc}"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    if progress is not None:
        progress(1.0)
    return RecordingInfo(
        path=relative.as_posix(),
        checksum=file_checksum(target),
        duration_ms=duration_ms,
        sample_rate=SAMPLE_RATE,
        channels=CHANNELS,
        bytes=target.stat().st_size,
        codec=encoder.codec,
        gain_db=gain,
    )


def default_root(paths: UserPaths) -> Path:
    """Where recordings go when settings name no shared folder: the desk's own data folder."""
    return paths.recordings_dir


def recording_path(root: Path, ref: str) -> Path:
    """The file a `recording_ref` names; refuses refs that would leave the root."""
    relative = PurePosixPath(ref)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"recording reference {ref!r} is not a path inside the recordings root")
    return Path(root).joinpath(*relative.parts)


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def speech_encoder() -> SpeechEncoder:
    """Opus when this ffmpeg can write it, else MP3 (both are speech-sized)."""
    try:
        listing = subprocess.run(
            [FFMPEG, "-hide_banner", "-encoders"], capture_output=True, text=True, check=False
        ).stdout
    except OSError as exc:
        raise RecordingStoreError(
            FFMPEG, "ffmpeg is not installed; install it (apt-get install ffmpeg)"
        ) from exc
    names = {line.split()[1] for line in listing.splitlines() if len(line.split()) > 1}
    for encoder in (OPUS, MP3):
        if encoder.ffmpeg_codec in names:
            return encoder
    raise RecordingStoreError(FFMPEG, "this ffmpeg can encode neither Opus (libopus) nor MP3")


def normalisation_gain(mean_dbfs: float, max_dbfs: float) -> float:
    """The gain (dB) the loudness rule applies to audio of this RMS level and peak."""
    if not math.isfinite(max_dbfs) or not math.isfinite(mean_dbfs):
        return 0.0  # digital silence: nothing to bring up
    gain = min(TARGET_MEAN_DBFS - mean_dbfs, PEAK_CEILING_DBFS - max_dbfs, MAX_GAIN_DB)
    return round(gain, 1)


def probe(source: Path) -> SourceAudio:
    """The first audio stream of `source`, or the RecordingError that says why there is none."""
    check_file(source)
    _check_wav_header(source)
    try:
        info: dict[str, Any] = mediainfo_json(str(source))
    except OSError as exc:
        raise RecordingStoreError(
            source, "ffprobe (part of ffmpeg) is not installed; install ffmpeg"
        ) from exc
    streams = info.get("streams") or []
    if not info or "format" not in info:
        raise _unreadable(source)
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not audio:
        kinds = sorted({str(s.get("codec_type")) for s in streams if s.get("codec_type")})
        what = f"only {' and '.join(kinds)}" if kinds else "no streams"
        raise RecordingNotAudio(source, f"not an audio file: it has {what}, no sound")
    stream = audio[0]
    codec = str(stream.get("codec_name") or "")
    rate = _int(stream.get("sample_rate"))
    channels = _int(stream.get("channels"))
    if not codec or codec == "none" or not 1 <= rate <= 384_000 or not 1 <= channels <= 64:
        raise RecordingCorrupt(
            source, "the audio header is damaged (its coding, rate or channels make no sense)"
        )
    duration = _float(stream.get("duration")) or _float(info["format"].get("duration"))
    names = str(info["format"].get("format_name", "")).split(",")
    reliable = bool(set(names) & _RELIABLE_LENGTH)
    return SourceAudio(codec, rate, channels, duration, reliable, names[0])


# -- checks ------------------------------------------------------------------------------------

# First bytes of the containers a recording plausibly comes in: when ffprobe cannot read a
# file that starts like one of these, the file is a damaged recording, not some other file.
_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (0, b"RIFF"),
    (0, b"RIFX"),
    (0, b"RF64"),
    (0, b"OggS"),
    (0, b"ID3"),
    (0, b"fLaC"),
    (0, b"FORM"),
    (0, b"#!AMR"),
    (0, b".snd"),
    (0, b"caff"),
    (0, b"wvpk"),
    (0, b"MAC "),
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"),  # ASF (WMA)
    (4, b"ftyp"),  # MP4 / M4A / 3GP
)


# Containers whose header or index states the length exactly.
_RELIABLE_LENGTH = frozenset(
    {"wav", "w64", "rf64", "ogg", "flac", "mp4", "m4a", "mov", "aiff", "caf", "matroska"}
)


def _looks_like_audio_container(head: bytes) -> bool:
    if any(head[at : at + len(magic)] == magic for at, magic in _SIGNATURES):
        return True
    # An MPEG audio frame sync (MP3 without an ID3 tag).
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return False
    return True


def check_file(source: Path) -> None:
    try:
        st = source.stat()
    except FileNotFoundError:
        raise RecordingMissing(source, "no such file") from None
    except OSError as exc:
        raise RecordingMissing(source, f"cannot be opened: {exc.strerror}") from None
    if not source.is_file():
        raise RecordingMissing(source, "not a file (a folder or a device)")
    if st.st_size == 0:
        raise RecordingEmpty(source, "the file is empty (0 bytes)")
    if not os.access(source, os.R_OK):
        raise RecordingMissing(source, "cannot be read: permission denied")


def _unreadable(source: Path) -> RecordingError:
    with open(source, "rb") as f:
        head = f.read(512)
    if _looks_like_audio_container(head):
        return RecordingCorrupt(source, "a damaged audio file: its header cannot be read")
    if _looks_like_text(head):
        return RecordingNotAudio(source, "not audio: it is a text file")
    return RecordingNotAudio(source, "not audio: not a sound format the desk knows")


def _check_wav_header(source: Path) -> None:
    """A WAV knows its own length: find a file cut short before ffmpeg glosses over it.

    ffmpeg plays a truncated WAV to where it stops and reports the shorter length, so the
    only place the loss shows is the header's data size against the bytes really there.
    """
    size = source.stat().st_size
    with open(source, "rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        byte_rate = 0
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise RecordingCorrupt(source, "a damaged WAV file: it has no audio data chunk")
            tag, length = struct.unpack("<4sI", chunk)
            if tag == b"fmt ":
                fmt = f.read(length + (length & 1))
                if len(fmt) < 16:
                    raise RecordingTruncated(source, "truncated: the file ends inside its header")
                _, channels, rate, byte_rate = struct.unpack("<HHII", fmt[:12])
                if not (1 <= channels <= 64 and 1 <= rate <= 384_000 and byte_rate > 0):
                    raise RecordingCorrupt(
                        source, "a damaged WAV file: its format header makes no sense"
                    )
                continue
            if tag == b"data":
                if not byte_rate:
                    raise RecordingCorrupt(
                        source, "a damaged WAV file: the format header is missing"
                    )
                present = size - f.tell()
                # 0 and 0xFFFFFFFF are what streaming writers leave when they never knew.
                if length not in (0, 0xFFFFFFFF) and present < length:
                    raise RecordingTruncated(
                        source,
                        f"truncated: the header announces {length / byte_rate:.1f} s of audio "
                        f"but the file holds only {max(present, 0) / byte_rate:.1f} s",
                    )
                return
            if not tag.isascii() or not tag.strip(b" ").isalnum():
                raise RecordingCorrupt(source, "a damaged WAV file: its chunk headers are garbled")
            f.seek(length + (length & 1), os.SEEK_CUR)
            if f.tell() > size:
                raise RecordingCorrupt(
                    source, "a damaged WAV file: its header runs past the end of the file"
                )


def _check_decoded(source: Path, audio: SourceAudio, decoded_ms: int) -> None:
    if decoded_ms <= 0:
        raise RecordingEmpty(source, "the file holds no audio samples")
    if not audio.duration_reliable:
        return
    expected_ms = (audio.duration_s or 0.0) * 1000
    if expected_ms - decoded_ms > max(1000.0, expected_ms * 0.1):
        raise RecordingTruncated(
            source,
            f"truncated or damaged: {decoded_ms / 1000:.1f} s of {expected_ms / 1000:.1f} s "
            "could be decoded",
        )


# -- the two ways through --------------------------------------------------------------------


def _convert_in_memory(
    source: Path,
    audio: SourceAudio,
    tmp: Path,
    encoder: SpeechEncoder,
    pcm_hook: PcmHook | None,
) -> tuple[int, float]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # audioop, inside pydub
            # An open file, not the path: given a path, pydub leaves its own handle open.
            with open(source, "rb") as f:
                hint = "wav" if audio.container == "wav" else None  # pydub's fast reader
                segment = AudioSegment.from_file(f, format=hint)
            segment = segment.set_channels(CHANNELS).set_frame_rate(SAMPLE_RATE)
            segment = segment.set_sample_width(2)
            gain = normalisation_gain(segment.dBFS, segment.max_dBFS)
            if gain:
                segment = segment.apply_gain(gain)
    except (CouldntDecodeError, IndexError, ValueError, struct.error) as exc:
        log.warning("pydub could not decode %s: %s", source, exc)
        raise RecordingCorrupt(
            source, "a damaged audio file: its audio cannot be decoded"
        ) from None
    _check_decoded(source, audio, len(segment))
    try:
        handle: IO[bytes] = segment.export(
            str(tmp),
            format=encoder.container,
            codec=encoder.ffmpeg_codec,
            bitrate=encoder.bitrate,
            parameters=list(encoder.options),
        )
    except CouldntEncodeError as exc:
        log.warning("pydub could not encode %s: %s", source, exc)
        raise RecordingStoreError(source, f"converting it to {encoder.codec} failed") from None
    handle.close()  # pydub hands back the open output file
    if pcm_hook is not None:
        pcm_hook(segment.set_frame_rate(PEAKS_RATE).raw_data)
    return len(segment), gain


_FORMAT_FILTER = f"aformat=sample_fmts=s16:sample_rates={SAMPLE_RATE}:channel_layouts=mono"
_MEAN = re.compile(r"mean_volume:\s*(-?[0-9.]+|-inf) dB")
_MAX = re.compile(r"max_volume:\s*(-?[0-9.]+|-inf) dB")
_SAMPLES = re.compile(r"n_samples:\s*([0-9]+)")


def _convert_streaming(
    source: Path,
    audio: SourceAudio,
    tmp: Path,
    encoder: SpeechEncoder,
    pcm_hook: PcmHook | None,
    progress: Progress | None,
) -> tuple[int, float]:
    ffmpeg = ffmpeg_path()
    # Pass 1: the level and the true length, as the stored audio will be (mono, 16 kHz).
    measured = subprocess.run(
        [
            ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-v", "info",
            "-i", str(source), "-map", "0:a:0",
            "-af", f"{_FORMAT_FILTER},volumedetect", "-f", "null", "-",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        check=False,
    )  # fmt: skip
    report = measured.stderr
    samples = _SAMPLES.search(report)
    if measured.returncode != 0 or samples is None:
        log.warning("ffmpeg could not decode %s:\n%s", source, report[-4000:])
        raise RecordingCorrupt(source, "a damaged audio file: its audio cannot be decoded")
    duration_ms = int(samples.group(1)) * 1000 // SAMPLE_RATE
    _check_decoded(source, audio, duration_ms)
    mean, peak = _MEAN.search(report), _MAX.search(report)
    gain = normalisation_gain(
        float(mean.group(1)) if mean else -math.inf, float(peak.group(1)) if peak else -math.inf
    )
    if progress is not None:
        progress(0.05)  # the measuring pass is a small part of the work

    # Pass 2: encode; the same decoded stream, split, also feeds the PCM hook at 8 kHz.
    graph = f"[0:a:0]{_FORMAT_FILTER},volume={gain}dB"
    outputs = [
        "-c:a", encoder.ffmpeg_codec, "-b:a", encoder.bitrate, *encoder.options,
        "-f", encoder.container, "-y", str(tmp),
    ]  # fmt: skip
    if pcm_hook is not None:
        graph += f",asplit=2[enc][pk];[pk]aresample={PEAKS_RATE}[pcm]"
        outputs = ["-map", "[enc]", *outputs, "-map", "[pcm]", "-f", "s16le", "pipe:1"]
    else:
        graph += "[enc]"
        outputs = ["-map", "[enc]", *outputs]
    command = [
        ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-v", "error",
        "-i", str(source), "-filter_complex", graph, *outputs,
    ]  # fmt: skip
    feed: PcmHook | None = None
    if pcm_hook is not None:
        expected = max(duration_ms * PEAKS_RATE // 1000 * 2, 1)
        done = 0

        def feed(block: bytes) -> None:
            nonlocal done
            pcm_hook(block)
            done += len(block)
            if progress is not None:
                progress(0.05 + 0.9 * min(done / expected, 1.0))

    run_ffmpeg(command, source, feed, "converting it failed")
    return duration_ms, gain


# -- small helpers -----------------------------------------------------------------------------


def run_ffmpeg(command: list[str], source: Path, on_output: PcmHook | None, failure: str) -> None:
    """Run ffmpeg on `source`, its standard output handed to `on_output` a chunk at a time as
    it comes (None: it writes files only). On failure its own words go to the log and
    `RecordingCorrupt` says "a damaged audio file: `failure`"."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if on_output is not None else subprocess.DEVNULL,
            stderr=errors,  # a file, not a pipe: ffmpeg never blocks on a full stderr
        )
        try:
            if on_output is not None and process.stdout is not None:
                while block := process.stdout.read(_CHUNK):
                    on_output(block)
            returncode = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            if process.stdout is not None:
                process.stdout.close()
        if returncode != 0:
            errors.seek(0)
            detail = errors.read()[-4000:].decode("utf-8", "replace")
            log.warning("ffmpeg failed on %s (%s):\n%s", source, failure, detail)
            raise RecordingCorrupt(source, f"a damaged audio file: {failure}")


def new_temp_file(directory: Path, prefix: str) -> Path:
    """An empty file to write and then rename into place.

    Not `tempfile.mkstemp`: that makes the file readable by its owner only, and on a shared
    recordings folder the team lead's desk must read what an operator's desk wrote; this
    one gets the permissions of any new file (the umask decides).
    """
    while True:
        path = directory / f"{prefix}{secrets.token_hex(8)}.part"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return path


def ffmpeg_path() -> str:
    found = shutil.which(FFMPEG)
    if found is None:
        raise RecordingStoreError(
            FFMPEG, "ffmpeg is not installed; install it (apt-get install ffmpeg)"
        )
    return found


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(directory: Path) -> None:
    # The rename itself must survive a power cut, not only the file's bytes.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform or share; the rename still happened
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None
