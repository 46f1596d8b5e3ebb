"""Prompts as the operator sees them: the call's values filled in, blanks marked, and the
response-library search over the whole pack."""

from __future__ import annotations

import threading
import unicodedata
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agent_desk.core.script_model import (
    LANGUAGES,
    Prompt,
    ScriptPack,
    Template,
    Text,
    Variable,
    parse_template,
)

# An unfilled blank stays visible in the text, in the brackets each language reads as
# "something goes here", so a half-finished prompt cannot pass for a finished one.
BLANK_MARKS = {"zh": ("［", "］"), "en": ("[", "]")}


@dataclass(frozen=True)
class Rendered:
    text: str
    missing_blanks: tuple[str, ...] = ()  # blank ids still to fill, in order of appearance
    used_fallbacks: tuple[str, ...] = ()  # variables that had no value in this call
    language: str = "zh"  # the language actually rendered (zh when the English is missing)

    @property
    def ready(self) -> bool:
        """Whether the text may be used (copied, sent, marked as said)."""
        return not self.missing_blanks


def render_prompt(
    prompt: Prompt,
    values: Mapping[str, str | None],
    language: str = "zh",
    blanks: Mapping[str, str] | None = None,
) -> Rendered:
    """The prompt's text with the call's values; a value that is None or blank gives way to
    the variable's fallback in that language."""
    text, language = _pick(prompt.text, language)
    labels = {blank.id: blank.label for blank in prompt.blanks}
    variables = {variable.name: variable for variable in prompt.variables}
    return _render(parse_template(text), language, values, variables, blanks or {}, labels)


def render_text(
    pack: ScriptPack, text: Text, values: Mapping[str, str | None], language: str = "zh"
) -> Rendered:
    """A say-instead or a forbidden phrase's better wording: variables, no blanks."""
    chosen, language = _pick(text, language)
    variables = {variable.name: variable for variable in pack.variables}
    return _render(parse_template(chosen), language, values, variables, {}, {})


def search_prompts(pack: ScriptPack, words: str | Iterable[str]) -> list[Prompt]:
    """Prompts whose text, title, tags or category hold every word, in Chinese or English,
    in pack order. No words: every prompt."""
    pieces = [words] if isinstance(words, str) else list(words)
    terms = [term for piece in pieces for term in fold(piece).split()]
    rows = _search_rows(pack)
    return [prompt for prompt, haystack in rows if all(term in haystack for term in terms)]


def fold(text: str) -> str:
    """Full-width letters and digits as plain ones, case ignored: what a search compares."""
    return unicodedata.normalize("NFKC", text).casefold()


def _pick(text: Text, language: str) -> tuple[str, str]:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    if language == "en" and text.en is not None:
        return text.en, "en"
    return text.zh, "zh"


def _render(
    template: Template,
    language: str,
    values: Mapping[str, str | None],
    variables: Mapping[str, Variable],
    filled: Mapping[str, str],
    labels: Mapping[str, Text],
) -> Rendered:
    out: list[str] = []
    missing: dict[str, None] = {}
    fallbacks: dict[str, None] = {}
    opening, closing = BLANK_MARKS[language]
    for segment in template.segments:
        if isinstance(segment, str):
            out.append(segment)
        elif segment.blank:
            answer = filled.get(segment.name)
            if answer and answer.strip():
                out.append(answer)
            else:
                label = labels.get(segment.name)
                out.append(f"{opening}{label.get(language) if label else segment.name}{closing}")
                missing[segment.name] = None
        else:
            value = values.get(segment.name)
            if value and value.strip():
                out.append(value)
                continue
            variable = variables.get(segment.name)
            # A validated pack declares every variable; otherwise show the gap, don't hide it.
            out.append(variable.fallback.get(language) if variable else f"{{{segment.name}}}")
            fallbacks[segment.name] = None
    return Rendered("".join(out), tuple(missing), tuple(fallbacks), language)


_rows_lock = threading.Lock()
_rows: dict[int, list[tuple[Prompt, str]]] = {}


def _search_rows(pack: ScriptPack) -> list[tuple[Prompt, str]]:
    # Built once per loaded pack (the search box asks on every keystroke) and dropped with it.
    key = id(pack)
    with _rows_lock:
        rows = _rows.get(key)
    if rows is None:
        rows = [(prompt, _haystack(pack, prompt)) for prompt in pack.prompts]
        with _rows_lock:
            if key not in _rows:
                _rows[key] = rows
                weakref.finalize(pack, _forget, key)
    return rows


def _forget(key: int) -> None:
    with _rows_lock:
        _rows.pop(key, None)


def _haystack(pack: ScriptPack, prompt: Prompt) -> str:
    owner = pack.prompt_owner(prompt.id)
    texts = [prompt.id, *prompt.tags]
    for pair in (prompt.title, owner.title if owner else None):
        if pair is not None:
            texts += [pair.zh, pair.en or ""]
    for template in (prompt.text.zh, prompt.text.en):
        if template is not None:
            # Placeholder names are not words of the prompt: "name" must not find every
            # prompt that says {customer_name}.
            texts.append(parse_template(template).literal_text)
    texts += [blank.label.get(language) for blank in prompt.blanks for language in LANGUAGES]
    # A separator no search term can contain, so a term never matches across two fields.
    return "\n".join(fold(text) for text in texts)
