"""The recordings we store (Opus in Ogg), decoded straight with libopus, for their waveform.

ffmpeg's own Opus decoder always works at 48 kHz and spends ~3 s of one core on an hour of
speech. libopus (the library ffmpeg encodes with) decodes our SILK 16 kHz speech at its own
rate in ~2 s, and slices of the file decode side by side, a process each (see
`peak_decoding`): an hour in ~1.3 s on two cores. Neither the file nor its PCM is
held whole: `read_stream` reads page headers only, and each slice reads its packets and
decodes them a chunk at a time.

Only files that are plainly what the store writes take this path: one Opus stream in Ogg
(RFC 7845, channel mapping 0, starting at granule 0), whole pages, packets libopus accepts.
`read_stream` returns None for anything else, and `decode` raises `Undecodable` when a packet
is refused; the caller then decodes with ffmpeg, which reports damage in its own words.

Ogg page (RFC 3533): "OggS", version, flags (1 = continues a packet), granule position
(int64: 48 kHz samples at the end of the last packet finished on the page, pre-skip
included), serial, sequence, CRC, segment count, segment table (a packet ends at a segment
shorter than 255).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
from array import array
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from itertools import accumulate, pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt

OPUS_RATE = 48_000
# libopus decodes SILK wide-band speech fastest at its own rate (no resampling).
DECODE_RATE = 16_000
_PAGE = struct.Struct("<4sBBqIIIB")
_CONTINUED = 0x01
_MAX_PACKET_MS = 120
_PACKETS_PER_CHUNK = 250

Samples = npt.NDArray[np.int16]


class Undecodable(Exception):
    """libopus refused a packet: let ffmpeg decide what is wrong with the file."""


@dataclass(frozen=True)
class OpusStream:
    """Where an Ogg Opus file's packets are, and where decoding may start; the file itself
    is read a chunk at a time while decoding (an hour is 10 MB a desk need not hold)."""

    path: Path
    size: int  # of the file: an offset at or past it is in `spill`, at offset - size
    spill: bytearray  # whole copies of the packets that span pages
    offsets: array[int]  # of each audio packet ('Q')
    lengths: array[int]  # ('I')
    pre_skip: int  # 48 kHz samples the decoder's first output must drop
    end_granule: int
    # Packets that start a page: (packet index, granule at its start), ascending.
    entry_packets: list[int]
    entry_granules: list[int]

    def sample_count(self, rate: int) -> int:
        """Samples the stream decodes to at `rate`, trimmed as its last granule says."""
        return max((self.end_granule - self.pre_skip) * rate // OPUS_RATE, 0)

    def decode(
        self, rate: int, begin: int, end: int, preroll: int, sink: Callable[[Samples], None]
    ) -> None:
        """Decode output samples [begin, end) at `rate` into `sink`, in order and in chunks.

        Decoding starts at the last page start at least `preroll` samples before `begin`
        (a decoder started mid-stream needs some history before its output is right) and
        drops what comes before `begin`.
        """
        lib = _libopus()
        if lib is None:
            raise Undecodable("libopus is not available")
        entry = 0
        if begin > 0:
            target = (begin - preroll) * OPUS_RATE // rate + self.pre_skip
            entry = max(bisect_right(self.entry_granules, target) - 1, 0)
        first = self.entry_packets[entry]
        # Output position of the first sample the decoder will produce (negative: pre-skip).
        position = (self.entry_granules[entry] - self.pre_skip) * rate // OPUS_RATE
        error = ctypes.c_int()
        # A mono decoder: libopus mixes a stereo stream down itself.
        decoder = lib.opus_decoder_create(rate, 1, ctypes.byref(error))
        if not decoder or error.value:
            raise Undecodable(f"opus_decoder_create failed ({error.value})")
        per_packet = rate * _MAX_PACKET_MS // 1000
        chunk = np.empty(per_packet * _PACKETS_PER_CHUNK, dtype=np.int16)
        out = chunk.ctypes.data
        spill = (ctypes.c_char * len(self.spill)).from_buffer(self.spill) if self.spill else None
        spill_base = ctypes.addressof(spill) - self.size if spill is not None else 0
        decode = lib.opus_decode
        offsets, lengths, size = self.offsets, self.lengths, self.size
        try:
            with open(self.path, "rb", buffering=0) as file:
                index, count = first, len(offsets)
                while index < count and position < end:
                    stop = min(index + _PACKETS_PER_CHUNK, count)
                    block, block_at = _read_packets(file.fileno(), self, index, stop)
                    block_base = _address(block) - block_at
                    written = 0
                    for i in range(index, stop):
                        at = offsets[i]
                        n = decode(
                            decoder,
                            (block_base if at < size else spill_base) + at,
                            lengths[i],
                            out + 2 * written,
                            per_packet,
                            0,
                        )
                        if n < 0:
                            raise Undecodable(f"packet {i} refused by libopus ({n})")
                        written += n
                    index = stop
                    lo, hi = max(begin - position, 0), min(end - position, written)
                    if hi > lo:
                        sink(chunk[lo:hi])
                    position += written
        finally:
            lib.opus_decoder_destroy(decoder)


def _read_packets(fd: int, stream: OpusStream, first: int, stop: int) -> tuple[bytes, int]:
    """The stretch of the file that holds packets [first, stop) (but those copied to the
    spill), and where it starts. File packets come in file order, so the first and the
    last of them bound it."""
    offsets, lengths, size = stream.offsets, stream.lengths, stream.size
    head = next((i for i in range(first, stop) if offsets[i] < size), None)
    if head is None:
        return b"", 0
    tail = next(i for i in range(stop - 1, head - 1, -1) if offsets[i] < size)
    start, end = offsets[head], offsets[tail] + lengths[tail]
    block = os.pread(fd, end - start, start)
    if len(block) != end - start:
        raise Undecodable("the file got shorter while it was read")
    return block, start


def _address(block: bytes) -> int:
    return ctypes.cast(ctypes.c_char_p(block), ctypes.c_void_p).value or 0


def read_stream(path: Path) -> OpusStream | None:
    """The file as an `OpusStream`, or None when it is not plainly one (see the module)."""
    if _libopus() is None:
        return None
    with open(path, "rb", buffering=0) as file:
        return _read_pages(Path(path), file.fileno(), os.fstat(file.fileno()).st_size)


def _read_pages(path: Path, fd: int, size: int) -> OpusStream | None:
    """Walk the pages (headers only, but for packets that span pages and the two header
    packets, which are read whole)."""
    spill = bytearray()
    offsets, lengths = array("Q"), array("I")
    entry_packets: list[int] = []
    entry_granules: list[int] = []
    header_packets: list[bytes] = []
    serial: int | None = None
    spanning: list[tuple[int, int]] = []  # pieces of a packet that continues on the next page
    last_granule = 0
    first_page_end: tuple[int, int] | None = None  # packets finished on the first audio page
    pos = 0
    while pos < size:
        head = os.pread(fd, _PAGE.size + 255, pos)  # the header and the longest lacing table
        if len(head) < _PAGE.size:
            return None
        magic, version, flags, granule, page_serial, _seq, _crc, nsegs = _PAGE.unpack_from(head)
        body = pos + _PAGE.size + nsegs
        if magic != b"OggS" or version != 0 or body > size:
            return None
        if serial is None:
            serial = page_serial
        elif page_serial != serial:
            return None  # several streams: not a file we wrote
        if bool(flags & _CONTINUED) != bool(spanning):
            return None
        segments = head[_PAGE.size : _PAGE.size + nsegs]
        page_end = body + sum(segments)
        if page_end > size:
            return None  # truncated
        if len(header_packets) >= 2 and not spanning:
            entry_packets.append(len(offsets))
            entry_granules.append(last_granule)
        start = body
        if segments and not spanning and len(header_packets) >= 2 and 255 not in segments:
            # Nearly every page: whole packets only, one lacing value each; taken in bulk.
            offsets.extend(accumulate(segments[:-1], initial=body))
            lengths.extend(segments)
            segments, start = b"", page_end
        for length in segments:
            if length < 255 and not spanning:  # whole within the page
                packet_at, packet_len = start, length
                start += length
            else:
                spanning.append((start, length))
                start += length
                if length == 255:
                    continue
                packet_len = sum(n for _, n in spanning)
                packet_at = spanning[0][0]
                if any(a + n != b for (a, n), (b, _) in pairwise(spanning)):
                    packet_at = size + len(spill)  # it crossed a page header: a whole copy
                    spill += b"".join(os.pread(fd, n, a) for a, n in spanning)
                spanning = []
            if len(header_packets) < 2:
                header_packets.append(_packet(fd, size, spill, packet_at, packet_len))
            else:
                offsets.append(packet_at)
                lengths.append(packet_len)
        if offsets and first_page_end is None:
            first_page_end = (len(offsets), granule)
        if granule != -1:
            last_granule = granule
        pos = start
    if spanning or len(header_packets) < 2 or not offsets:
        return None
    opus_head = header_packets[0]
    if len(opus_head) < 19 or not opus_head.startswith(b"OpusHead") or opus_head[18] != 0:
        return None  # not Opus, or a channel mapping beyond mono/stereo
    channels, pre_skip = opus_head[9], struct.unpack_from("<H", opus_head, 10)[0]
    if channels not in (1, 2) or not header_packets[1].startswith(b"OpusTags"):
        return None
    if first_page_end is None:
        return None
    packets, granule = first_page_end
    first_packets = [_packet(fd, size, spill, offsets[i], lengths[i]) for i in range(packets)]
    if not _starts_at_zero(first_packets, granule):
        return None  # cut from a longer stream: its positions would not start at zero
    return OpusStream(
        path=path,
        size=size,
        spill=spill,
        offsets=offsets,
        lengths=lengths,
        pre_skip=pre_skip,
        end_granule=last_granule,
        entry_packets=entry_packets,
        entry_granules=entry_granules,
    )


def _packet(fd: int, size: int, spill: bytearray, at: int, length: int) -> bytes:
    if at >= size:
        return bytes(spill[at - size : at - size + length])
    return os.pread(fd, length, at)


def _starts_at_zero(packets: list[bytes], granule: int) -> bool:
    """The first audio page's granule is what its packets decode to (RFC 7845 §4)."""
    lib = _libopus()
    if lib is None or granule < 0:
        return False
    total = 0
    for packet in packets:
        n = lib.opus_packet_get_nb_samples(packet, len(packet), OPUS_RATE)
        if n < 0:
            return False
        total += n
    return total == granule


@cache
def _libopus() -> ctypes.CDLL | None:
    for name in ("libopus.so.0", ctypes.util.find_library("opus")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.opus_decoder_create.restype = ctypes.c_void_p
        lib.opus_decoder_create.argtypes = [
            ctypes.c_int32,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_int),
        ]
        lib.opus_decode.restype = ctypes.c_int
        lib.opus_decode.argtypes = [
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_int32,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
        ]
        lib.opus_packet_get_nb_samples.restype = ctypes.c_int
        lib.opus_packet_get_nb_samples.argtypes = [ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]
        lib.opus_decoder_destroy.restype = None
        lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
        return lib
    return None
