"""A loaded script pack as the desk uses it, and the template syntax its texts are written in.

Everything here is immutable: a pack is loaded once, shared by the panels, the coach and the
QA scorecard, and replaced as a whole when a new version is activated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Literal

LANGUAGES = ("zh", "en")
STAGE_IDS = ("opening", "understanding", "customer_type", "solving", "complaint", "closing")
SECTIONS = ("stages", "customer_types", "say_instead", "forbidden", "qa_checklist")
AUTO_CHECKS = (
    "greeting_used",
    "no_forbidden_phrase",
    "customer_type_chosen",
    "promise_recorded",
    "wrap_up_code_set",
    "hold_under_limit",
)
MAX_PACK_BYTES = 1024 * 1024

# The schema file says the same; a test keeps the two in step.
ENTRY_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
VARIABLE_NAME = re.compile(r"[a-z][a-z0-9_]*")

Severity = Literal["warning", "critical"]


@dataclass(frozen=True)
class Text:
    """A user-visible text: Chinese always, English when the trainer wrote it."""

    zh: str
    en: str | None = None

    def get(self, language: str = "zh") -> str:
        # An English screen still shows the Chinese rather than nothing.
        if language == "en" and self.en is not None:
            return self.en
        return self.zh


@dataclass(frozen=True)
class Variable:
    name: str
    fallback: Text
    description: str = ""


@dataclass(frozen=True)
class Blank:
    id: str
    label: Text


@dataclass(frozen=True)
class Prompt:
    id: str
    text: Text
    title: Text | None = None
    blanks: tuple[Blank, ...] = ()
    tags: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    # The variables its text uses, resolved at load so rendering needs nothing but the prompt.
    variables: tuple[Variable, ...] = ()


@dataclass(frozen=True)
class Stage:
    id: str
    title: Text
    prompts: tuple[Prompt, ...] = ()
    description: Text | None = None
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class CustomerType:
    id: str
    title: Text
    prompts: tuple[Prompt, ...] = ()
    description: Text | None = None
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class SayInstead:
    id: str
    avoid: Text  # the format's `not:`
    say: Text
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForbiddenPhrase:
    id: str
    phrase: str
    better: Text
    variants: tuple[str, ...] = ()
    severity: Severity = "warning"
    rules: tuple[str, ...] = ()

    @property
    def forms(self) -> tuple[str, ...]:
        """The phrase and its variants: everything the coach should catch for this entry."""
        return (self.phrase, *self.variants)


@dataclass(frozen=True)
class QAItem:
    id: str
    title: Text
    weight: float
    critical: bool = False
    auto: str | None = None
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScriptPack:
    pack_id: str
    version: str
    languages: tuple[str, ...]
    author: str
    title: Text
    variables: tuple[Variable, ...] = ()
    stages: tuple[Stage, ...] = ()  # always in call order (STAGE_IDS)
    customer_types: tuple[CustomerType, ...] = ()
    say_instead: tuple[SayInstead, ...] = ()
    forbidden: tuple[ForbiddenPhrase, ...] = ()
    qa_checklist: tuple[QAItem, ...] = ()

    @cached_property
    def prompts(self) -> tuple[Prompt, ...]:
        """Every prompt: the stages' in call order, then the customer types'."""
        return tuple(p for owner in self._owners for p in owner.prompts)

    def prompt(self, prompt_id: str) -> Prompt | None:
        return self._prompt_index.get(prompt_id, (None, None))[0]

    def prompt_owner(self, prompt_id: str) -> Stage | CustomerType | None:
        """The stage or customer type a prompt belongs to (its category in the search)."""
        return self._prompt_index.get(prompt_id, (None, None))[1]

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def customer_type(self, type_id: str) -> CustomerType | None:
        return next((c for c in self.customer_types if c.id == type_id), None)

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    @property
    def _owners(self) -> tuple[Stage | CustomerType, ...]:
        return (*self.stages, *self.customer_types)

    @cached_property
    def _prompt_index(self) -> dict[str, tuple[Prompt, Stage | CustomerType]]:
        return {p.id: (p, owner) for owner in self._owners for p in owner.prompts}


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a pack file, where a trainer's editor can jump to it."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class PackInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        first = str(self.problems[0]) if self.problems else "invalid pack"
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more)" if more > 0 else ""))


class PackUnreadable(Exception):
    """The file itself cannot be opened (missing, a folder, no permission)."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: cannot read: {reason}")
        self.file = file
        self.reason = reason


# --- templates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Placeholder:
    name: str
    blank: bool  # {?id} rather than {name}


Segment = str | Placeholder


@dataclass(frozen=True)
class Template:
    segments: tuple[Segment, ...]
    errors: tuple[str, ...]  # syntax only; whether names are declared is the pack's business

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.name for s in self.placeholders if not s.blank))

    @property
    def blanks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.name for s in self.placeholders if s.blank))

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(s for s in self.segments if isinstance(s, Placeholder))

    @property
    def literal_text(self) -> str:
        """The words without placeholders (what a search should look at)."""
        return " ".join(s for s in self.segments if isinstance(s, str))


_BRACES = re.compile(r"[{}]")


@lru_cache(maxsize=16384)
def parse_template(text: str) -> Template:
    """`{name}` variable, `{?id}` blank, `{{` and `}}` literal braces.

    Never raises: a malformed template still renders (its bad parts as written) so a panel
    can show something, and the validator reports every error, not just the first.
    """
    segments: list[Segment] = []
    errors: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            segments.append("".join(literal))
            literal.clear()

    i, n = 0, len(text)
    while i < n:
        brace = _BRACES.search(text, i)
        if brace is None:
            literal.append(text[i:])
            break
        j = brace.start()
        literal.append(text[i:j])
        if text.startswith("{{", j) or text.startswith("}}", j):
            literal.append(text[j])
            i = j + 2
            continue
        if text[j] == "}":
            errors.append(f"unbalanced '}}' at character {j + 1}; write '}}}}' for a literal brace")
            literal.append("}")
            i = j + 1
            continue
        close = text.find("}", j + 1)
        reopen = text.find("{", j + 1)
        if close < 0 or 0 <= reopen < close:
            errors.append(f"unbalanced '{{' at character {j + 1}; write '{{{{' for a literal brace")
            literal.append("{")
            i = j + 1
            continue
        inner = text[j + 1 : close]
        blank = inner.startswith("?")
        name = inner[1:] if blank else inner
        if (ENTRY_ID if blank else VARIABLE_NAME).fullmatch(name):
            flush()
            segments.append(Placeholder(name, blank))
        else:
            errors.append(
                f"'{{{inner}}}' is not a placeholder: write {{name}} for a variable, "
                "{?id} for a blank, {{ and }} for literal braces"
            )
            literal.append(text[j : close + 1])
        i = close + 1
    flush()
    return Template(tuple(segments), tuple(errors))
