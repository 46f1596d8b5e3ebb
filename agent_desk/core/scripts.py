"""Script packs: the one import for the panels, the coach, the pack manager and publishing.

The work is split by concern: `script_model` (the typed pack and template syntax),
`script_pack` (reading, validating, includes, publishing form), `script_render`
(rendering with a call's values, search). Format: docs/script-pack-format.md.
"""

from __future__ import annotations

from agent_desk.core.script_checks import pack_schema
from agent_desk.core.script_model import (
    AUTO_CHECKS,
    LANGUAGES,
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
from agent_desk.core.script_pack import (
    dump_pack,
    load_default_pack,
    load_pack,
    pack_checksum,
    parse_pack,
    summary,
    validate_pack_file,
    validate_pack_text,
)
from agent_desk.core.script_render import Rendered, render_prompt, render_text, search_prompts

__all__ = [
    "AUTO_CHECKS",
    "LANGUAGES",
    "MAX_PACK_BYTES",
    "SECTIONS",
    "STAGE_IDS",
    "Blank",
    "CustomerType",
    "ForbiddenPhrase",
    "PackInvalid",
    "PackUnreadable",
    "Problem",
    "Prompt",
    "QAItem",
    "Rendered",
    "SayInstead",
    "ScriptPack",
    "Stage",
    "Text",
    "Variable",
    "dump_pack",
    "load_default_pack",
    "load_pack",
    "pack_checksum",
    "pack_schema",
    "parse_pack",
    "parse_template",
    "render_prompt",
    "render_text",
    "search_prompts",
    "summary",
    "validate_pack_file",
    "validate_pack_text",
]
