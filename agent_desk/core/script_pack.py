"""Script-pack files in and out: load and validate (with includes), the published form.

The per-file checks live in `script_checks`; this module resolves includes, checks what
must be unique across the whole pack, and builds the typed `ScriptPack`.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from agent_desk.core.script_checks import (
    Document,
    YamlPath,
    compose,
    content_problems,
    did_you_mean,
    prompts_of,
    read_file,
    schema_problems,
    section_entries,
    too_large,
    where_prefix,
)
from agent_desk.core.script_model import (
    MAX_PACK_BYTES,
    SECTIONS,
    STAGE_IDS,
    Blank,
    CustomerType,
    ForbiddenPhrase,
    PackInvalid,
    PackUnreadable,
    Problem,
    Prompt,
    QAItem,
    SayInstead,
    ScriptPack,
    Stage,
    Text,
    Variable,
    parse_template,
)

DEFAULT_PACK_RESOURCE = "packs/service-etiquette/pack.yaml"

# --- public API ---------------------------------------------------------------------------


def load_pack(path: str | os.PathLike[str]) -> ScriptPack:
    """The pack in a file, its includes resolved; PackInvalid or PackUnreadable otherwise."""
    pack, problems = _Session().check_main_file(Path(path), os.fspath(path))
    if pack is None:
        raise PackInvalid(problems)
    return pack


def parse_pack(
    text: str, source_name: str, base_dir: str | os.PathLike[str] | None = None
) -> ScriptPack:
    """A pack from text (an editor's buffer, a published version). Includes are resolved
    against `base_dir`; without one a pack that includes is invalid."""
    pack, problems = _Session().check_main_text(text, source_name, base_dir)
    if pack is None:
        raise PackInvalid(problems)
    return pack


def validate_pack_file(path: str | os.PathLike[str]) -> list[Problem]:
    """Every problem of the file and the files it includes, sorted; [] when it is valid.
    Raises PackUnreadable when the file cannot be opened at all."""
    return _Session().check_main_file(Path(path), os.fspath(path))[1]


def validate_pack_text(
    text: str, source_name: str, base_dir: str | os.PathLike[str] | None = None
) -> list[Problem]:
    return _Session().check_main_text(text, source_name, base_dir)[1]


def load_default_pack() -> ScriptPack:
    """The pack that ships with the desk (resources/packs/service-etiquette)."""
    with as_file(files("agent_desk.resources").joinpath(DEFAULT_PACK_RESOURCE)) as path:
        return load_pack(path)


def pack_checksum(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def summary(pack: ScriptPack) -> str:
    counts = (
        (len(pack.stages), "stage", "stages"),
        (len(pack.customer_types), "customer type", "customer types"),
        (len(pack.prompts), "prompt", "prompts"),
        (len(pack.forbidden), "forbidden phrase", "forbidden phrases"),
        (len(pack.qa_checklist), "QA item", "QA items"),
    )
    parts = ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts)
    return f"{pack.pack_id} {pack.version}: {parts}"


def dump_pack(pack: ScriptPack) -> str:
    """The pack as one self-contained YAML file in the same format, includes resolved:
    what gets published, since a desk reading it from the database has no folder to
    resolve includes in. `parse_pack(dump_pack(p), …) == p`."""
    out: dict[str, Any] = {
        "pack": pack.pack_id,
        "version": pack.version,
        "languages": list(pack.languages),
        "author": pack.author,
        "title": _text_out(pack.title),
    }
    if pack.variables:
        out["variables"] = {
            v.name: {
                **({"description": v.description} if v.description else {}),
                "fallback": _text_out(v.fallback),
            }
            for v in pack.variables
        }
    out["stages"] = [_owner_out(s) for s in pack.stages]
    out["customer_types"] = [_owner_out(c) for c in pack.customer_types]
    out["say_instead"] = [
        {"id": s.id, **_rules_out(s.rules), "not": _text_out(s.avoid), "say": _text_out(s.say)}
        for s in pack.say_instead
    ]
    out["forbidden"] = [
        {
            "id": f.id,
            **_rules_out(f.rules),
            "phrase": f.phrase,
            **({"variants": list(f.variants)} if f.variants else {}),
            "better": _text_out(f.better),
            "severity": f.severity,
        }
        for f in pack.forbidden
    ]
    out["qa_checklist"] = [
        {
            "id": q.id,
            **_rules_out(q.rules),
            "title": _text_out(q.title),
            "weight": q.weight,
            "critical": q.critical,
            **({"auto": q.auto} if q.auto else {}),
        }
        for q in pack.qa_checklist
    ]
    dumped: str = yaml.safe_dump(out, allow_unicode=True, sort_keys=False, width=1_000_000)
    return dumped


# --- includes, merging and duplicates -----------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """A section entry with where it was written, so duplicates can point at both places."""

    data: dict[str, Any]
    doc: Document
    path: YamlPath
    via: int | None = None  # the include item of the file being checked that brought it


@dataclass
class _Resolved:
    doc: Document
    variables: dict[str, Any]
    sections: dict[str, list[_Entry]]


@dataclass
class _Checked:
    problems: list[Problem]
    resolved: _Resolved | None  # None when the file or anything it includes has a problem


class _Session:
    """One validation run: each included file is read once, and cycles are caught."""

    def __init__(self) -> None:
        self.checked: dict[Path, _Checked] = {}
        self.stack: list[tuple[Path, str]] = []

    def check_main_file(self, path: Path, name: str) -> tuple[ScriptPack | None, list[Problem]]:
        return self._finish(self._check_file(path, name))

    def check_main_text(
        self, text: str, name: str, base_dir: str | os.PathLike[str] | None
    ) -> tuple[ScriptPack | None, list[Problem]]:
        folder = Path(base_dir) if base_dir is not None else None
        key = (folder / Path(name).name).resolve() if folder is not None else None
        return self._finish(self._check_text(text, name, folder, key))

    @staticmethod
    def _finish(checked: _Checked) -> tuple[ScriptPack | None, list[Problem]]:
        problems = sorted(dict.fromkeys(checked.problems))
        if checked.resolved is None or problems:
            return None, problems
        return _build(checked.resolved), []

    def _check_file(self, path: Path, name: str) -> _Checked:
        key = path.resolve()
        if key not in self.checked:
            text, problems = read_file(path, name)
            self.checked[key] = (
                _Checked(problems, None)
                if text is None
                else self._check_text(text, name, path.parent, key)
            )
        return self.checked[key]

    def _check_text(self, text: str, name: str, folder: Path | None, key: Path | None) -> _Checked:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_PACK_BYTES:
            return _Checked([too_large(name, size)], None)
        doc, problems = compose(text, name)
        if doc is None:
            return _Checked(problems, None)
        problems += schema_problems(doc)
        problems += content_problems(doc)
        if key is not None:
            self.stack.append((key, name))
        try:
            included = self._includes(doc, folder)
        finally:
            if key is not None:
                self.stack.pop()
        resolved, merge_problems = _merge(doc, included)
        problems += included.problems + merge_problems
        return _Checked(problems + included.foreign, None if problems else resolved)

    def _includes(self, doc: Document, folder: Path | None) -> _Included:
        found = _Included()
        for path, item in section_entries(doc.data, "include"):
            file, section, ids = item.get("file"), item.get("section"), item.get("ids")
            if not isinstance(file, str) or not file.strip() or section not in SECTIONS:
                continue  # the schema has said why
            if ids is not None and not (
                isinstance(ids, list) and all(isinstance(i, str) for i in ids)
            ):
                continue
            self._include(doc, folder, int(path[1]), file, section, ids, found)
        return found

    def _include(
        self,
        doc: Document,
        folder: Path | None,
        index: int,
        file: str,
        section: str,
        ids: list[str] | None,
        found: _Included,
    ) -> None:
        def problem(message: str, *at: str | int) -> None:
            found.problems.append(doc.problem(("include", index, *(at or ("file",))), message))

        if folder is None:
            problem(f"cannot include {file!r}: the pack was not read from a folder")
            return
        target = folder / file
        name = os.path.normpath(os.path.join(os.path.dirname(doc.file), file))
        keys = [key for key, _ in self.stack]
        if target.resolve() in keys:
            chain = [shown for _, shown in self.stack[keys.index(target.resolve()) :]]
            problem(f"include cycle: {' -> '.join([*chain, name])}")
            return
        try:
            checked = self._check_file(target, name)
        except PackUnreadable as exc:
            problem(f"cannot read {file!r}: {exc.reason}")
            return
        if checked.resolved is None:
            found.foreign += checked.problems
            count = len(dict.fromkeys(checked.problems))
            problem(f"{file!r} is not a valid pack ({count} problem{'s' * (count != 1)})")
            return
        available = checked.resolved.sections[section]
        if ids is None:
            chosen = available
            if not chosen:
                problem(f"{file!r} has no {section} entries", "section")
        else:
            by_id = {entry.data.get("id"): entry for entry in available}
            chosen = [by_id[wanted] for wanted in ids if wanted in by_id]
            for position, wanted in enumerate(ids):
                if wanted not in by_id:
                    advice = did_you_mean(wanted, [str(i) for i in by_id])
                    message = f"{file!r} has no {section} entry {wanted!r}{advice}"
                    problem(message, "ids", position)
        found.sections[section] += [replace(entry, via=index) for entry in chosen]
        for variable, spec in checked.resolved.variables.items():
            found.variables.setdefault(variable, spec)


class _Included:
    def __init__(self) -> None:
        self.sections: dict[str, list[_Entry]] = {s: [] for s in SECTIONS}
        self.variables: dict[str, Any] = {}
        self.problems: list[Problem] = []
        self.foreign: list[Problem] = []  # the included files' own problems


_NOUNS = {
    "stages": "stage",
    "customer_types": "customer type",
    "say_instead": "say-instead",
    "forbidden": "forbidden",
    "qa_checklist": "QA item",
}


def _merge(doc: Document, included: _Included) -> tuple[_Resolved, list[Problem]]:
    """This file's entries after the included ones, then the pack-wide uniqueness checks."""
    sections: dict[str, list[_Entry]] = {}
    for section in SECTIONS:
        own = [_Entry(entry, doc, path) for path, entry in section_entries(doc.data, section)]
        sections[section] = included.sections[section] + own
    sections["stages"].sort(key=lambda e: _stage_order(e.data.get("id")))
    variables = dict(included.variables)
    own_variables = doc.data.get("variables") if isinstance(doc.data, dict) else None
    if isinstance(own_variables, dict):
        variables.update(own_variables)  # the including pack may reword a fallback

    checker = _Duplicates(doc)
    for section, noun in _NOUNS.items():
        checker.ids(noun, [(e, ("id",)) for e in sections[section]])
    checker.ids(
        "prompt",
        [
            (owner, (*path[len(owner.path) :], "id"))
            for section in ("stages", "customer_types")
            for owner in sections[section]
            for path, _ in prompts_of(owner.data, owner.path)
        ],
    )
    checker.phrases(sections["forbidden"])
    return _Resolved(doc, variables, sections), checker.problems


def _stage_order(stage_id: Any) -> int:
    return STAGE_IDS.index(stage_id) if stage_id in STAGE_IDS else len(STAGE_IDS)


class _Duplicates:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def ids(self, noun: str, items: list[tuple[_Entry, YamlPath]]) -> None:
        first: dict[str, tuple[_Entry, YamlPath]] = {}
        for entry, sub in items:
            value = _get(entry.data, sub)
            if not isinstance(value, str):
                continue
            if value in first:
                self._report(entry, sub, f"duplicate {noun} id {value!r}", *first[value])
            else:
                first[value] = (entry, sub)

    def phrases(self, entries: list[_Entry]) -> None:
        # The coach ignores spacing, case and full-width forms, so these are the same phrase.
        first: dict[str, tuple[_Entry, YamlPath, str]] = {}
        for entry in entries:
            forms: list[tuple[Any, YamlPath, str]] = [
                (entry.data.get("phrase"), ("phrase",), "the phrase")
            ]
            variants = entry.data.get("variants")
            for index, variant in enumerate(variants if isinstance(variants, list) else []):
                forms.append((variant, ("variants", index), "a variant"))
            for text, sub, kind in forms:
                if not isinstance(text, str) or not text.strip():
                    continue
                key = "".join(unicodedata.normalize("NFKC", text).casefold().split())
                if key in first:
                    other, other_sub, other_kind = first[key]
                    what = f"{text!r} repeats {other_kind} of {other.data.get('id')!r}"
                    self._report(entry, sub, what, other, other_sub)
                else:
                    first[key] = (entry, sub, kind)

    def _report(
        self, entry: _Entry, sub: YamlPath, what: str, first: _Entry, first_sub: YamlPath
    ) -> None:
        first_line = first.doc.line((*first.path, *first_sub))
        ref = f"line {first_line}" if first.doc is self.doc else f"{first.doc.file}:{first_line}"
        if entry.doc is self.doc:
            at = (*entry.path, *sub)
            message = f"{where_prefix(at)}{what} (first at {ref})"
        else:
            at = ("include", entry.via if entry.via is not None else 0)
            message = f"{where_prefix(at)}{what} from {entry.doc.file} (first at {ref})"
        self.problems.append(Problem(self.doc.file, self.doc.line(at), message))


def _get(data: Any, sub: YamlPath) -> Any:
    for part in sub:
        if isinstance(part, int):
            data = data[part] if isinstance(data, list) and part < len(data) else None
        else:
            data = data.get(part) if isinstance(data, dict) else None
    return data


# --- building the typed pack --------------------------------------------------------------


def _build(resolved: _Resolved) -> ScriptPack:
    data = resolved.doc.data
    variables = {
        name: Variable(name, _text(spec["fallback"]), spec.get("description", ""))
        for name, spec in resolved.variables.items()
    }

    def prompt(p: dict[str, Any]) -> Prompt:
        text = _text(p["text"])
        used = [parse_template(t).variables for t in (text.zh, text.en) if t is not None]
        names = dict.fromkeys(name for names in used for name in names)
        return Prompt(
            id=p["id"],
            text=text,
            title=_optional_text(p.get("title")),
            blanks=tuple(Blank(b["id"], _text(b["label"])) for b in p.get("blanks", [])),
            tags=tuple(p.get("tags", [])),
            rules=tuple(p.get("rules", [])),
            variables=tuple(variables[n] for n in names if n in variables),
        )

    def entries(section: str) -> list[dict[str, Any]]:
        return [e.data for e in resolved.sections[section]]

    return ScriptPack(
        pack_id=data["pack"],
        version=data["version"],
        languages=tuple(data["languages"]),
        author=data["author"],
        title=_text(data["title"]),
        variables=tuple(variables.values()),
        stages=tuple(
            Stage(
                id=s["id"],
                title=_text(s["title"]),
                prompts=tuple(prompt(p) for p in s.get("prompts", [])),
                description=_optional_text(s.get("description")),
                rules=tuple(s.get("rules", [])),
            )
            for s in entries("stages")
        ),
        customer_types=tuple(
            CustomerType(
                id=c["id"],
                title=_text(c["title"]),
                prompts=tuple(prompt(p) for p in c.get("prompts", [])),
                description=_optional_text(c.get("description")),
                rules=tuple(c.get("rules", [])),
            )
            for c in entries("customer_types")
        ),
        say_instead=tuple(
            SayInstead(s["id"], _text(s["not"]), _text(s["say"]), tuple(s.get("rules", [])))
            for s in entries("say_instead")
        ),
        forbidden=tuple(
            ForbiddenPhrase(
                id=f["id"],
                phrase=f["phrase"].strip(),
                better=_text(f["better"]),
                variants=tuple(v.strip() for v in f.get("variants", [])),
                severity=f.get("severity", "warning"),
                rules=tuple(f.get("rules", [])),
            )
            for f in entries("forbidden")
        ),
        qa_checklist=tuple(
            QAItem(
                id=q["id"],
                title=_text(q["title"]),
                weight=float(q["weight"]),
                critical=bool(q.get("critical", False)),
                auto=q.get("auto"),
                rules=tuple(q.get("rules", [])),
            )
            for q in entries("qa_checklist")
        ),
    )


def _text(pair: Mapping[str, str]) -> Text:
    return Text(pair["zh"], pair.get("en"))


def _optional_text(pair: Mapping[str, str] | None) -> Text | None:
    return None if pair is None else _text(pair)


def _text_out(text: Text) -> dict[str, str]:
    return {"zh": text.zh} if text.en is None else {"zh": text.zh, "en": text.en}


def _rules_out(rules: tuple[str, ...]) -> dict[str, list[str]]:
    return {"rules": list(rules)} if rules else {}


def _owner_out(owner: Stage | CustomerType) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": owner.id,
        **_rules_out(owner.rules),
        "title": _text_out(owner.title),
    }
    if owner.description is not None:
        out["description"] = _text_out(owner.description)
    out["prompts"] = [
        {
            "id": p.id,
            **({"title": _text_out(p.title)} if p.title is not None else {}),
            **_rules_out(p.rules),
            "text": _text_out(p.text),
            **(
                {"blanks": [{"id": b.id, "label": _text_out(b.label)} for b in p.blanks]}
                if p.blanks
                else {}
            ),
            **({"tags": list(p.tags)} if p.tags else {}),
        }
        for p in owner.prompts
    ]
    return out
