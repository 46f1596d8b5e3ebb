"""The line-by-line checks of one script-pack file, for `script_pack` (not a public API).

A trainer fixes a pack from the list of problems, so checking never stops at the first one:
every check runs on whatever parts of the file are well-formed, and each problem carries the
line of the offending key or value. Line numbers come from PyYAML's node marks (the composed
tree), which a plain `safe_load` result has already thrown away.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from agent_desk.core.script_model import (
    LANGUAGES,
    MAX_PACK_BYTES,
    PackUnreadable,
    Problem,
    parse_template,
)

SCHEMA_RESOURCE = "schemas/script-pack.schema.json"
# Aliases can make a small file expand enormously ("billion laughs"); no real pack comes near.
MAX_YAML_NODES = 500_000
EMPTY_FILE = "empty file: a pack needs at least pack, version, languages, author and title"

YamlPath = tuple[str | int, ...]


@lru_cache(maxsize=1)
def pack_schema() -> dict[str, Any]:
    """The published JSON Schema (resources/schemas/script-pack.schema.json)."""
    text = files("agent_desk.resources").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# --- reading and composing ----------------------------------------------------------------


@dataclass
class Spot:
    key_line: int
    value_line: int
    raw: str | None  # a scalar's source text, for hints such as "put it in quotes"


@dataclass
class Document:
    file: str
    data: Any
    spots: dict[YamlPath, Spot]

    def line(self, path: YamlPath, *, key: bool = False) -> int:
        while path not in self.spots:
            path = path[:-1]
        spot = self.spots[path]
        return spot.key_line if key else spot.value_line

    def problem(self, path: YamlPath, message: str, *, key: bool = False) -> Problem:
        """A problem at `path`, its message led by the path (`stages[0].prompts[2].id: …`)."""
        return Problem(self.file, self.line(path, key=key), where_prefix(path) + message)


def read_file(path: Path, name: str) -> tuple[str | None, list[Problem]]:
    try:
        with path.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_PACK_BYTES:
                return None, [too_large(name, size)]
            data = stream.read(MAX_PACK_BYTES + 1)
    except FileNotFoundError:
        raise PackUnreadable(name, "no such file") from None
    except IsADirectoryError:
        raise PackUnreadable(name, "it is a folder") from None
    except PermissionError:
        raise PackUnreadable(name, "permission denied") from None
    except OSError as exc:
        raise PackUnreadable(name, exc.strerror or str(exc)) from None
    if len(data) > MAX_PACK_BYTES:  # it grew while we looked
        return None, [too_large(name, len(data))]
    data = data.removeprefix(b"\xef\xbb\xbf")  # Windows editors write a BOM; it is still UTF-8
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start]
        return None, [
            Problem(
                name,
                line,
                f"not UTF-8: byte 0x{byte:02x} cannot be decoded; save the file as UTF-8",
            )
        ]


def too_large(name: str, size: int) -> Problem:
    return Problem(
        name,
        1,
        f"file too large: {size:,} bytes; a pack may be at most 1 MiB ({MAX_PACK_BYTES:,} bytes)",
    )


class _TooManyNodes(Exception):
    pass


class _SelfReference(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def compose(text: str, file: str) -> tuple[Document | None, list[Problem]]:
    """The file as plain data with the line of every key and value, or why it cannot be."""
    fast = getattr(yaml, "CSafeLoader", None)  # libyaml: several times faster, same marks
    try:
        if fast is not None:
            try:
                return _compose(fast, text, file)
            except yaml.YAMLError:
                pass  # the pure-Python parser words the error, the same on every machine
        return _compose(yaml.SafeLoader, text, file)
    except yaml.reader.ReaderError as exc:  # the reader vets every character up front
        line = text.count("\n", 0, exc.position) + 1
        message = f"YAML syntax error: character U+{exc.character:04X} is not allowed"
        return None, [Problem(file, line, message)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        context = ""
        if exc.context:
            # Where the unclosed thing began is usually where the mistake is.
            began = exc.context_mark.line + 1 if exc.context_mark else line
            context = f" ({exc.context}{f' at line {began}' if began != line else ''})"
        message = f"YAML syntax error: {exc.problem or 'cannot be read'}{context}"
        return None, [Problem(file, line, message)]
    except RecursionError:
        return None, [Problem(file, 1, "YAML syntax error: nested too deeply")]


def _compose(loader_class: Any, text: str, file: str) -> tuple[Document | None, list[Problem]]:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(file, 1, EMPTY_FILE)]
        builder = _Builder(loader, file)
        try:
            data = builder.build(node, ())
        except _SelfReference as exc:
            return None, [Problem(file, exc.line, "YAML syntax error: an alias refers to itself")]
        except _TooManyNodes:
            message = f"YAML aliases expand to more than {MAX_YAML_NODES:,} values"
            return None, [Problem(file, 1, message)]
        return Document(file, data, builder.spots), builder.problems
    finally:
        loader.dispose()


def _line(node: Any) -> int:
    return int(node.start_mark.line) + 1


class _Builder:
    """Plain data from the composed tree, noting each key's and value's line as it goes."""

    def __init__(self, loader: Any, file: str) -> None:
        self.loader = loader
        self.file = file
        self.spots: dict[YamlPath, Spot] = {}
        self.problems: list[Problem] = []
        self.active: set[int] = set()
        self.count = 0

    def build(self, node: Any, path: YamlPath) -> Any:
        if not path:
            self.spots[()] = Spot(_line(node), _line(node), None)
        self.count += 1
        if self.count > MAX_YAML_NODES:
            raise _TooManyNodes
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if id(node) in self.active:
            raise _SelfReference(_line(node))
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node, path)
            return self._mapping(node, path)
        finally:
            self.active.discard(id(node))

    def _scalar(self, node: Any) -> Any:
        try:
            return self.loader.construct_object(node)
        except (ValueError, OverflowError):
            # Looks like a date but is not one (2024-13-45): keep the text, and let the
            # schema say what was expected there.
            return str(node.value)

    def _sequence(self, node: Any, path: YamlPath) -> list[Any]:
        items = []
        for index, item in enumerate(node.value):
            self.spots[(*path, index)] = Spot(_line(item), _line(item), _raw(item))
            items.append(self.build(item, (*path, index)))
        return items

    def _mapping(self, node: Any, path: YamlPath) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        where = where_prefix(path)
        for key_node, value_node in node.value:
            key_line = _line(key_node)
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._problem(
                    key_line, f"{where}YAML merge keys (<<) are not supported; write the keys out"
                )
                continue
            scalar = isinstance(key_node, yaml.ScalarNode)
            key = self._scalar(key_node) if scalar else None
            if not isinstance(key, str):
                shown = f"key {key_node.value!r}" if scalar else "a list or mapping as a key"
                self._problem(key_line, f"{where}{shown} is not a name; write names as text")
                continue
            if key in mapping:
                self._problem(
                    key_line, f"{where}duplicate key {key!r} (first at line {first_line[key]})"
                )
                continue
            first_line[key] = key_line
            self.spots[(*path, key)] = Spot(key_line, _line(value_node), _raw(value_node))
            mapping[key] = self.build(value_node, (*path, key))
        return mapping

    def _problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))


def _raw(node: Any) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def _dotted(path: YamlPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def where_prefix(path: YamlPath) -> str:
    return f"{_dotted(path)}: " if path else ""


def did_you_mean(word: str, choices: Iterable[str], shown: str = "{!r}") -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {shown.format(close[0])}?" if close else ""


# --- schema -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _validator() -> Any:
    # Imported here: only validating a pack needs it, and a desk that just uses the active
    # pack is spared its ~4 MB.
    import jsonschema  # type: ignore[import-untyped]

    return jsonschema.Draft202012Validator(pack_schema())


_TYPE_NOUNS = {
    "string": "text",
    "object": "a mapping",
    "array": "a list",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "nothing",
}


def schema_problems(doc: Document) -> list[Problem]:
    errors = list(_validator().iter_errors(doc.data))
    # A value of the wrong type fails its enum or pattern too; the type says it all.
    mistyped = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    problems: dict[Problem, None] = {}
    for error in errors:
        path = tuple(error.absolute_path)
        if path in mistyped and error.validator != "type":
            continue
        for problem in _explain(error, path, doc):
            problems[problem] = None
    return list(problems)


def _explain(error: Any, path: YamlPath, doc: Document) -> Iterator[Problem]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    title = schema.get("title", "valid")
    kind, value, where = error.validator, error.instance, where_prefix(path)
    spot = doc.spots.get(path)
    raw = spot.raw if spot else None

    def problem(message: str, at: YamlPath = path, *, key: bool = False) -> Problem:
        return Problem(doc.file, doc.line(at, key=key), where + message)

    if "propertyNames" in error.absolute_schema_path:  # a key is wrong, not a value
        yield problem(f"{value!r} is not {title}", (*path, value), key=True)
    elif kind == "required":
        for name in error.validator_value:
            if isinstance(value, dict) and name not in value:
                yield problem(f"missing required key {name!r}", key=True)
    elif kind == "additionalProperties" and error.validator_value is False:
        known = list(schema.get("properties", {}))
        for name in value:
            if name not in known:
                yield problem(
                    f"unknown key {name!r}{did_you_mean(name, known)}", (*path, name), key=True
                )
    elif kind == "type":
        wanted = error.validator_value
        wanted_list = wanted if isinstance(wanted, list) else [wanted]
        noun = schema.get("title") or " or ".join(
            _TYPE_NOUNS.get(str(t), str(t)) for t in wanted_list
        )
        hint = ""
        if "string" in wanted_list and value is not None and not isinstance(value, list | dict):
            hint = "; put it in quotes"
        yield problem(f"expected {noun}, got {_describe(value, raw)}{hint}")
    elif kind == "pattern" and error.validator_value == r"\S":
        yield problem("must not be blank")
    elif kind in ("pattern", "enum"):
        choices = (
            f"; expected one of: {', '.join(map(str, schema['enum']))}" if kind == "enum" else ""
        )
        yield problem(f"{value!r} is not {title}{choices}")
    elif kind == "exclusiveMinimum":
        yield problem(f"must be more than {error.validator_value}, got {raw or value}")
    elif kind in ("minItems", "minLength"):
        yield problem("must not be empty")
    elif kind == "uniqueItems":
        seen: list[Any] = []
        for index, item in enumerate(value):
            if item in seen:
                yield Problem(
                    doc.file, doc.line((*path, index)), f"{where}{item!r} is listed twice"
                )
                break
            seen.append(item)
    else:
        yield problem(str(error.message))


def _describe(value: Any, raw: str | None) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"true or false ({raw})"
    if isinstance(value, int | float):
        return f"a number ({raw})"
    if isinstance(value, str):
        return f"text ({value[:30]!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} ({raw})"  # YAML dates and the like


# --- checks a schema cannot make ----------------------------------------------------------


def section_entries(data: Any, section: str) -> Iterator[tuple[YamlPath, dict[str, Any]]]:
    items = data.get(section) if isinstance(data, dict) else None
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield (section, index), item


def prompts_of(owner: dict[str, Any], path: YamlPath) -> Iterator[tuple[YamlPath, dict[str, Any]]]:
    prompts = owner.get("prompts")
    if isinstance(prompts, list):
        for index, prompt in enumerate(prompts):
            if isinstance(prompt, dict):
                yield (*path, "prompts", index), prompt


def _texts_of(pair: Any) -> Iterator[tuple[str, str]]:
    if isinstance(pair, dict):
        for language in LANGUAGES:
            if isinstance(pair.get(language), str):
                yield language, pair[language]


def content_problems(doc: Document) -> list[Problem]:
    data = doc.data
    declared = data.get("variables") if isinstance(data, dict) else None
    variables = set(declared) if isinstance(declared, dict) else set()
    problems: list[Problem] = []

    def template(path: YamlPath, text: str, blanks: Sequence[str] | None) -> None:
        problems.extend(_template_problems(doc, path, text, variables, blanks))

    for section in ("stages", "customer_types"):
        for owner_path, owner in section_entries(data, section):
            for path, prompt in prompts_of(owner, owner_path):
                blanks = _blank_ids(doc, path, prompt, problems)
                for language, text in _texts_of(prompt.get("text")):
                    template((*path, "text", language), text, list(blanks))
                    used = parse_template(text).blanks
                    if set(used) - set(blanks):
                        continue  # a misspelt blank: its message already names the fix
                    problems += [
                        doc.problem(
                            (*path, "blanks", index),
                            f"blank {blank_id!r} is not used in text.{language}",
                        )
                        for blank_id, index in blanks.items()
                        if blank_id not in used
                    ]
    for path, pair in section_entries(data, "say_instead"):
        for key in ("not", "say"):
            for language, text in _texts_of(pair.get(key)):
                template((*path, key, language), text, None)
    for path, entry in section_entries(data, "forbidden"):
        for language, text in _texts_of(entry.get("better")):
            template((*path, "better", language), text, None)
        phrase = entry.get("phrase")
        if isinstance(phrase, str) and not phrase.strip():
            problems.append(doc.problem((*path, "phrase"), "empty forbidden phrase"))
        variants = entry.get("variants")
        for index, variant in enumerate(variants if isinstance(variants, list) else []):
            if isinstance(variant, str) and not variant.strip():
                problems.append(doc.problem((*path, "variants", index), "empty variant"))
    return problems


def _blank_ids(
    doc: Document, path: YamlPath, prompt: dict[str, Any], problems: list[Problem]
) -> dict[str, int]:
    """The prompt's declared blanks: id -> index in its `blanks` list."""
    found: dict[str, int] = {}
    blanks = prompt.get("blanks")
    for index, blank in enumerate(blanks if isinstance(blanks, list) else []):
        blank_id = blank.get("id") if isinstance(blank, dict) else None
        if not isinstance(blank_id, str):
            continue
        if blank_id in found:
            first = doc.line((*path, "blanks", found[blank_id], "id"))
            message = f"duplicate blank id {blank_id!r} (first at line {first})"
            problems.append(doc.problem((*path, "blanks", index, "id"), message))
        else:
            found[blank_id] = index
    return found


def _template_problems(
    doc: Document, path: YamlPath, text: str, variables: set[str], blanks: Sequence[str] | None
) -> Iterator[Problem]:
    parsed = parse_template(text)
    line, where = doc.line(path), where_prefix(path)
    for error in parsed.errors:
        yield Problem(doc.file, line, where + error)
    for name in parsed.variables:
        if name not in variables:
            advice = did_you_mean(name, variables, "{{{}}}") or "; declare it under variables"
            yield Problem(doc.file, line, f"{where}unknown variable {{{name}}}{advice}")
    for name in parsed.blanks:
        if blanks is None:
            message = f"blank {{?{name}}} is not allowed here: only a prompt's text has blanks"
        else:
            advice = did_you_mean(name, blanks, "{{?{}}}") or "; declare it in the prompt's blanks"
            message = f"unknown blank {{?{name}}}{advice}" if name not in blanks else ""
        if message:
            yield Problem(doc.file, line, where + message)
