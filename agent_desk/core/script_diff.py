"""What changed between two versions of a script pack, entry by entry: what a trainer
checks before publishing."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

from agent_desk.core.script_model import ScriptPack


class Change(enum.StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class EntryChange:
    # pack | variables | stages | customer_types | prompts | say_instead | forbidden |
    # qa_checklist
    section: str
    entry_id: str
    change: Change

    def __str__(self) -> str:
        mark = {Change.ADDED: "+", Change.REMOVED: "−", Change.CHANGED: "~"}[self.change]
        return f"{mark} {self.section}: {self.entry_id}"


def _entries(pack: ScriptPack) -> Iterator[tuple[str, str, object]]:
    yield "pack", "title", (pack.title, pack.author, pack.languages)
    for variable in pack.variables:
        yield "variables", variable.name, variable
    for owner_section, owners in (("stages", pack.stages), ("customer_types", pack.customer_types)):
        for owner in owners:
            # The owner without its prompts: a changed prompt is reported as itself.
            yield owner_section, owner.id, (owner.title, owner.description, owner.rules)
            for prompt in owner.prompts:
                yield "prompts", prompt.id, (owner.id, prompt)
    for section, entries in (
        ("say_instead", pack.say_instead),
        ("forbidden", pack.forbidden),
        ("qa_checklist", pack.qa_checklist),
    ):
        for entry in entries:
            yield section, entry.id, entry


def diff_packs(old: ScriptPack | None, new: ScriptPack) -> list[EntryChange]:
    """Added, removed and changed entries, in the new pack's order (removals last)."""
    before = {(section, key): value for section, key, value in _entries(old)} if old else {}
    changes: list[EntryChange] = []
    seen: set[tuple[str, str]] = set()
    for section, key, value in _entries(new):
        seen.add((section, key))
        if (section, key) not in before:
            changes.append(EntryChange(section, key, Change.ADDED))
        elif before[(section, key)] != value:
            changes.append(EntryChange(section, key, Change.CHANGED))
    changes += [
        EntryChange(section, key, Change.REMOVED)
        for section, key in before
        if (section, key) not in seen
    ]
    return changes
