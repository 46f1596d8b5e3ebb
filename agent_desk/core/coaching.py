"""The live coach: finds a pack's forbidden phrases in what the operator types.

The operator's text and every phrase go through the same per-character fold (`normalise`):
full-width to half-width and other compatibility forms (NFKC), accents and combining marks
dropped, Latin case folded, traditional characters to simplified (OpenCC's tables), and
whitespace, line breaks, punctuation and symbols removed. Because the fold works one character
at a time, a phrase that occurs in the text always occurs in the folded text, whatever
surrounds it; and an index map from folded positions back to the original ones gives the
editor exact ranges to underline. One Aho-Corasick automaton then finds every phrase in one
pass over the folded text.

What is never flagged, because a folded match can read across what a person would not:
- a phrase of one or two characters (不行) broken by anything: "不，行" is "no, fine", two
  utterances; longer phrases are still caught with separators anywhere inside
  (这是 我们的，规定) because three or more characters rarely line up by chance;
- a phrase inside an allowed containing word (`DEFAULT_ALLOWED_WORDS`: 不行动, 行不行,
  有没有办法…), written unbroken and not itself cut into by another match (不行不行 is
  two refusals, not 不 + 行不行); the list is explicit and short on purpose;
- a phrase that starts or ends with a Latin letter or digit, where the text goes on with
  another one (no "ok" inside "book"), or whose Latin word breaks differ from the text's.

Limits: a traditional character whose simplified form depends on the word (瞭 in 瞭解 → 了解)
folds to its commonest form; the phrase's own traditional spellings (OpenCC's phrase-level
s2t, s2tw, s2hk) are added as extra keys, which catches those words as written in full
traditional text. Indices are Python code points; Qt counts UTF-16 units (`utf16_offset`).
"""

from __future__ import annotations

import bisect
import functools
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ahocorasick_rs
import opencc

# Whitespace, line breaks, punctuation, symbols, control and format characters (zero-width
# space, BOM, variation selectors) and combining marks: none of them changes which words
# were said, so the fold drops them from the text and from every phrase alike.
_DROPPED_CATEGORIES = frozenset(
    {"Zs", "Zl", "Zp", "Cc", "Cf", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"}
    | {"Sm", "Sc", "Sk", "So", "Mn", "Me"}
)
# Code points scanned for a table entry: the BMP, plane 1 (emoji, mathematical letters), the
# compatibility ideographs and the tag/variation-selector block. The rest of plane 2 is
# ideographs that fold to themselves unless OpenCC converts them (added from its table), and
# scanning all 1.1 M code points would cost a second for characters no operator types.
_SCANNED_RANGES = ((0x0000, 0xD800), (0xE000, 0x20000), (0x2F800, 0x2FA20), (0xE0000, 0xE01F0))
# Where traditional characters live; OpenCC converts them in one call.
_CJK_RANGES = (
    (0x2E80, 0x2FE0),
    (0x3400, 0x4DC0),
    (0x4E00, 0xA000),
    (0xF900, 0xFB00),
    (0x20000, 0x2FA20),
)
# OpenCC configurations, most general first: t2s, then Taiwan and Hong Kong variant forms
# that t2s leaves alone (裏/裡, 着/著 regional spellings).
_TO_SIMPLIFIED = ("t2s", "tw2s", "hk2s")
_TO_TRADITIONAL = ("s2t", "s2tw", "s2hk")

SHORT_PHRASE_CHARS = 2
# The fold is cached per block of this many characters (see _Fold.folded); 128 keeps both
# the lookups per keystroke and the tracing back within a block short.
_BLOCK_CHARS = 128
_BLOCK_CACHE_SIZE = 2048  # at most ~2 MB of block text
# Clean words that contain a forbidden phrase. A phrase found inside one of these, written
# unbroken, is not flagged: 不行动 is "take no action", 行不行 asks "would that work?",
# 有没有办法 looks for a way, 不会很麻烦的 reassures.
DEFAULT_ALLOWED_WORDS: tuple[str, ...] = (
    "不行动",
    "不行为",
    "不行使",
    "不行驶",
    "不行走",
    "不行贿",
    "行不行",
    "我不会让",
    "我不会忘",
    "我不会耽误",
    "我不会挂",
    "有没有办法",
    "不会很麻烦的",
    "不是很麻烦的",
)


@dataclass(frozen=True, slots=True)
class CoachPhrase:
    """One forbidden entry of a pack, as plain values (the pack loader fills these)."""

    id: str
    phrase: str
    variants: tuple[str, ...] = ()
    better_zh: str = ""
    better_en: str = ""
    severity: str = "warning"  # warning | critical


@dataclass(frozen=True, slots=True)
class CoachingWarning:
    """A forbidden phrase found in the text: text[start:end] == matched."""

    phrase_id: str
    start: int
    end: int
    matched: str
    better_zh: str
    better_en: str
    severity: str


class _Fold:
    """The per-character fold, built once per process (about 0.2 s) and shared by coaches."""

    def __init__(self) -> None:
        to_simple = _cjk_table(_TO_SIMPLIFIED)
        table: dict[int, str] = {}
        for lo, hi in _SCANNED_RANGES:
            for code in range(lo, hi):
                char = chr(code)
                folded = _fold_char(char, to_simple)
                if folded != char:
                    table[code] = folded
        for char, simple in to_simple.items():
            table.setdefault(ord(char), simple)
        # A lone surrogate (a broken paste) cannot be encoded for the matcher; it becomes a
        # replacement character, which is in no phrase, so no match reads across it.
        for code in range(0xD800, 0xE000):
            table[code] = "\ufffd"
        self.table = table
        self._traditional = [opencc.OpenCC(config) for config in _TO_TRADITIONAL]
        # Folded blocks by their text. Typing changes one block of a note; the others are
        # looked up instead of translated again, which makes a keystroke's fold ~5x cheaper.
        self._blocks: dict[str, str] = {}

    def fold(self, text: str) -> str:
        return text.translate(self.table)

    def clear_cache(self) -> None:
        self._blocks.clear()

    def folded(self, text: str, *, cache: bool = True) -> _Folded:
        """The fold of text, block by block; cache=False for one-off texts (phrases)."""
        blocks = self._blocks if cache else {}
        if len(blocks) > _BLOCK_CACHE_SIZE:
            blocks.clear()
        parts: list[str] = []
        for at in range(0, len(text), _BLOCK_CHARS):
            block = text[at : at + _BLOCK_CHARS]
            folded = blocks.get(block)
            if folded is None:
                folded = blocks[block] = block.translate(self.table)
            parts.append(folded)
        return _Folded(text, parts, self.table)

    def spellings(self, text: str) -> set[str]:
        """The text as written, and its traditional spellings, word by word."""
        return {text, *(str(converter.convert(text)) for converter in self._traditional)}


def _fold_char(char: str, to_simple: dict[str, str]) -> str:
    category = unicodedata.category(char)
    if category in ("Cs", "Cn", "Co"):
        return char
    # Most code points are letters that fold to themselves; saying so early keeps the table
    # build near 0.1 s.
    if (
        category not in _DROPPED_CATEGORIES
        and char not in to_simple
        and unicodedata.is_normalized("NFKD", char)
        and char.casefold() == char
    ):
        return char
    decomposed = unicodedata.normalize("NFKD", char)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in _DROPPED_CATEGORIES)
    composed = unicodedata.normalize("NFKC", kept).casefold()
    return "".join(
        to_simple.get(c, c) for c in composed if unicodedata.category(c) not in _DROPPED_CATEGORIES
    )


def _cjk_table(configs: Sequence[str]) -> dict[str, str]:
    """Traditional → simplified for single characters, from OpenCC's own dictionaries."""
    chars = [chr(code) for lo, hi in _CJK_RANGES for code in range(lo, hi)]
    table: dict[str, str] = {}
    for config in configs:
        converter = opencc.OpenCC(config)
        # One call for all characters: a line break keeps OpenCC from reading two adjacent
        # characters as one word.
        converted = str(converter.convert("\n".join(chars))).split("\n")
        if len(converted) != len(chars):  # never seen; the slow way stays correct
            converted = [str(converter.convert(c)) for c in chars]
        for char, simple in zip(chars, converted, strict=True):
            if simple != char and simple and char not in table:
                table[char] = simple
    return table


@functools.cache
def _fold_tables() -> _Fold:
    return _Fold()


def clear_fold_cache() -> None:
    """Forget the folded blocks kept between checks (for tests and benchmarks)."""
    _fold_tables().clear_cache()


def normalise(text: str) -> str:
    """The form the coach compares: what `Coach.check` matches phrases against."""
    return _fold_tables().fold(text)


class _Folded:
    """A text, its fold, and the way back from folded positions to the text's own.

    The fold is kept per block of `_BLOCK_CHARS` characters. A folded position is traced
    back within its block only, and only when a check found something there, so a clean
    keystroke never pays for it and a flagged one pays for one or two blocks.
    """

    def __init__(self, text: str, parts: list[str], table: dict[int, str]) -> None:
        self.text = text
        self.folded = "".join(parts)
        self._table = table
        self._block_starts: list[int] = [0]  # folded index where each block begins
        for part in parts:
            self._block_starts.append(self._block_starts[-1] + len(part))
        self._origins: dict[int, list[int]] = {}

    def orig_of(self, j: int) -> int:
        """The original index of the character that produced folded index j."""
        # Blocks that fold to nothing share their start with the next one: rightmost wins.
        block = bisect.bisect_right(self._block_starts, j) - 1
        origins = self._origins.get(block)
        if origins is None:
            origins = self._origins[block] = self._block_origins(block)
        return origins[j - self._block_starts[block]]

    def _block_origins(self, block: int) -> list[int]:
        """For each folded character of the block, the original index it came from."""
        first = block * _BLOCK_CHARS
        origins: list[int] = []
        table = self._table
        for i, char in enumerate(self.text[first : first + _BLOCK_CHARS], first):
            out = table.get(ord(char))
            origins.extend([i] * (1 if out is None else len(out)))
        return origins

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.orig_of(start), self.orig_of(end - 1) + 1

    def unbroken(self, start: int, end: int) -> bool:
        """Nothing was dropped between the folded characters start..end."""
        lo, hi = self.span(start, end)
        return hi - lo == end - start

    def latin_breaks(self, start: int, end: int) -> frozenset[int]:
        """Offsets (from start) where two Latin letters/digits were apart in the original."""
        folded = self.folded
        return frozenset(
            j - start
            for j in range(start + 1, end)
            if _latin(folded[j - 1])
            and _latin(folded[j])
            and self.orig_of(j) > self.orig_of(j - 1) + 1
        )


def _latin(char: str) -> bool:
    """A letter or digit of a script that writes spaces between words."""
    return ord(char) < 0x2E80 and char.isalnum()


@dataclass(frozen=True, slots=True)
class _Key:
    phrase: int  # index into Coach.phrases
    latin_breaks: frozenset[int]


class Coach:
    """Every forbidden phrase of one pack, ready to check text as the operator types.

    Build it once per pack (under 0.1 s for 5,000 phrases, plus 0.2 s for the shared fold
    tables the first time in a process: build it off the GUI thread); `check` is then cheap
    enough to run on the whole text at every keystroke (`agent-desk bench coaching`).
    """

    def __init__(
        self,
        phrases: Iterable[CoachPhrase],
        allowed_words: Iterable[str] = DEFAULT_ALLOWED_WORDS,
    ) -> None:
        self.phrases: tuple[CoachPhrase, ...] = tuple(phrases)
        fold = _fold_tables()
        keys: dict[str, list[_Key]] = {}
        skipped: list[str] = []
        for index, entry in enumerate(self.phrases):
            found = False
            for written in (entry.phrase, *entry.variants):
                for spelling in sorted(fold.spellings(written)):
                    spelt = fold.folded(spelling, cache=False)
                    folded = spelt.folded
                    if not folded:
                        continue
                    found = True
                    breaks = spelt.latin_breaks(0, len(folded))
                    key = _Key(index, breaks)
                    bucket = keys.setdefault(folded, [])
                    if key not in bucket:
                        bucket.append(key)
            if not found:
                skipped.append(entry.id)
        # Ids whose phrase and variants are all punctuation: nothing left to look for.
        self.skipped: tuple[str, ...] = tuple(skipped)
        self._patterns: list[str] = list(keys)
        self._keys: list[list[_Key]] = [keys[p] for p in self._patterns]
        allowed = {fold.fold(s) for w in allowed_words for s in fold.spellings(w)} - {""}
        self._allowed_from = len(self._patterns)
        self._patterns.extend(sorted(allowed - keys.keys()))
        self._allowed_patterns = frozenset(allowed)
        self._fold = fold
        self._automaton = (
            ahocorasick_rs.AhoCorasick(
                self._patterns, implementation=ahocorasick_rs.Implementation.DFA
            )
            if self._patterns
            else None
        )

    def __len__(self) -> int:
        return len(self.phrases)

    def check(self, text: str) -> list[CoachingWarning]:
        """Every forbidden phrase in text, in reading order; [] for clean text."""
        if self._automaton is None:
            return []
        where = self._fold.folded(text)
        folded = where.folded
        raw = self._automaton.find_matches_as_indexes(folded, overlapping=True)
        if not raw:
            return []
        allowed: list[tuple[int, int]] = []
        found: list[tuple[int, int, int]] = []  # folded start, end, phrase index
        for pattern, start, end in raw:
            key_text = self._patterns[pattern]
            if key_text in self._allowed_patterns and where.unbroken(start, end):
                allowed.append((start, end))
            if pattern >= self._allowed_from:
                continue
            found.extend(
                (start, end, phrase)
                for phrase in self._accepted(pattern, folded, start, end, where)
            )
        kept = _drop_overlaps(_drop_allowed(found, allowed))
        warnings: list[CoachingWarning] = []
        for start, end, phrase in kept:
            lo, hi = where.span(start, end)
            entry = self.phrases[phrase]
            warnings.append(
                CoachingWarning(
                    phrase_id=entry.id,
                    start=lo,
                    end=hi,
                    matched=text[lo:hi],
                    better_zh=entry.better_zh,
                    better_en=entry.better_en,
                    severity=entry.severity,
                )
            )
        return warnings

    def _accepted(
        self, pattern: int, folded: str, start: int, end: int, where: _Folded
    ) -> list[int]:
        """The phrases of this key that this occurrence really is."""
        if end - start <= SHORT_PHRASE_CHARS and not where.unbroken(start, end):
            return []
        lo, hi = where.span(start, end)
        # A Latin letter or digit right before or after (no separator between): the match
        # is the inside of a longer word.
        if (
            start > 0
            and _latin(folded[start])
            and _latin(folded[start - 1])
            and where.orig_of(start - 1) + 1 == lo
        ):
            return []
        if (
            end < len(folded)
            and _latin(folded[end - 1])
            and _latin(folded[end])
            and where.orig_of(end) == hi
        ):
            return []
        keys = self._keys[pattern]
        if all(not key.latin_breaks for key in keys) and not _any_latin(folded, start, end):
            return _unique(key.phrase for key in keys)
        breaks = where.latin_breaks(start, end)
        return _unique(key.phrase for key in keys if key.latin_breaks == breaks)


def _any_latin(folded: str, start: int, end: int) -> bool:
    return any(_latin(c) for c in folded[start:end])


def _unique(phrases: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(phrases))


def _drop_allowed(
    found: list[tuple[int, int, int]], allowed: list[tuple[int, int]]
) -> list[tuple[int, int, int]]:
    """Drop matches lying inside an allowed word.

    An allowed word that a match reaches into from outside is no word there: in 不行不行,
    行不行 straddles the first 不行 and must not excuse the second.
    """
    if not allowed:
        return found
    by_start = sorted(found)
    starts = [start for start, _, _ in by_start]
    reach_of_found = _running_max(end for _, end, _ in by_start)

    def straddled(point: int) -> bool:
        k = bisect.bisect_left(starts, point) - 1  # matches starting before point
        return k >= 0 and reach_of_found[k] > point

    words = sorted(w for w in allowed if not straddled(w[0]) and not straddled(w[1]))
    if not words:
        return found
    word_starts = [start for start, _ in words]
    reach = _running_max(end for _, end in words)
    kept = []
    for match in found:
        k = bisect.bisect_right(word_starts, match[0]) - 1  # words starting at or before
        if k < 0 or reach[k] < match[1]:
            kept.append(match)
    return kept


def _running_max(values: Iterable[int]) -> list[int]:
    out: list[int] = []
    for value in values:
        out.append(max(value, out[-1]) if out else value)
    return out


def _drop_overlaps(found: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """One warning per phrase and place: the longest phrase wins where matches nest.

    A match inside a longer one (any phrase) goes, so a variant inside its own phrase, or a
    short phrase inside a long one, is not shown twice. A phrase overlapping an earlier
    match of itself (哈哈哈 in 哈哈哈哈) goes too. Distinct phrases found on exactly the same
    characters are all kept: each has its own better wording.
    """
    # Reading order; at one start the longest first, so anything containing a match has
    # been seen before it.
    found = sorted(set(found), key=lambda m: (m[0], -m[1], m[2]))
    kept: list[tuple[int, int, int]] = []
    reach = -1  # the furthest end of any match seen so far with a different span
    last_end: dict[int, int] = {}  # per phrase, where its last kept match ended
    i = 0
    while i < len(found):
        start, end, _ = found[i]
        j = i
        while j < len(found) and found[j][:2] == (start, end):
            j += 1
        if reach < end:
            for _, _, phrase in found[i:j]:
                if last_end.get(phrase, -1) <= start:
                    kept.append((start, end, phrase))
                    last_end[phrase] = end
        reach = max(reach, end)
        i = j
    return kept


def utf16_offset(text: str, index: int) -> int:
    """A code-point index into text as a UTF-16 position (what Qt's text cursors count)."""
    return index + sum(1 for c in text[:index] if ord(c) > 0xFFFF)
