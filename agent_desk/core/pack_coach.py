"""The live coach a script pack calls for: its forbidden phrases and better wording."""

from __future__ import annotations

from agent_desk.core.coaching import Coach, CoachPhrase
from agent_desk.core.script_model import ScriptPack


def coach_for(pack: ScriptPack) -> Coach:
    return Coach(
        CoachPhrase(
            entry.id,
            entry.phrase,
            entry.variants,
            entry.better.zh,
            entry.better.en or "",
            entry.severity,
        )
        for entry in pack.forbidden
    )
