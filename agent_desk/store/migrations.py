"""Alembic from code: the only way the schema is created or changed.

The embedded SQLite file is upgraded by the desk itself at start; a PostgreSQL database is
upgraded by `agent-desk db upgrade`, and a desk that meets another schema refuses to write.

Alembic is imported only when it has work to do: a desk whose database is at `CODE_HEAD`
(nearly every start) checks that with one query and never loads it (~17 MB of a desk).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in db/versions. A test holds it equal to Alembic's own head, so a
# revision added without moving it fails the suite instead of a desk.
CODE_HEAD = "0005"
VERSION_TABLE = "alembic_version"


class SchemaState(enum.Enum):
    CURRENT = "current"
    EMPTY = "empty"  # no schema yet
    OLDER = "older"  # the database needs `db upgrade`
    NEWER = "newer"  # the database was upgraded by a newer desk


@dataclass(frozen=True)
class SchemaStatus:
    state: SchemaState
    database_revision: str | None
    code_revision: str

    @property
    def ok(self) -> bool:
        return self.state is SchemaState.CURRENT

    def explain(self) -> str:
        db, code = self.database_revision or "none", self.code_revision
        if self.state is SchemaState.CURRENT:
            return f"database schema is current ({code})"
        if self.state is SchemaState.EMPTY:
            return "database has no Agent Desk schema yet: run 'agent-desk db upgrade'"
        if self.state is SchemaState.OLDER:
            return (
                f"database schema {db} is older than this desk needs ({code}): "
                "run 'agent-desk db upgrade'; the desk will not write until then"
            )
        return (
            f"database schema {db} is newer than this desk knows ({code}): "
            "update Agent Desk; the desk will not write until then"
        )


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("agent_desk.migrations")))
    if engine is not None:
        cfg.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return cfg


def code_head() -> str:
    """The head revision as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "migrations folder has no revision"
    return head


def schema_status(engine: Engine) -> SchemaStatus:
    with engine.connect() as conn:
        recorded = (
            conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
            if inspect(conn).has_table(VERSION_TABLE)
            else []
        )
    if recorded == [CODE_HEAD]:
        return SchemaStatus(SchemaState.CURRENT, CODE_HEAD, CODE_HEAD)
    return _status_by_alembic(engine)


def _status_by_alembic(engine: Engine) -> SchemaStatus:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    head = code_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        state = SchemaState.EMPTY
    elif current == head:
        state = SchemaState.CURRENT
    else:
        try:
            known = {rev.revision for rev in script.walk_revisions()}
        except Exception:  # a broken history still means "not ours to write"
            known = set()
        state = SchemaState.OLDER if current in known else SchemaState.NEWER
    return SchemaStatus(state, current, head)


def upgrade(engine: Engine, revision: str = "head") -> SchemaStatus:
    """Upgrade to `revision` in one transaction; refuses a schema newer than the code."""
    status = schema_status(engine)
    if status.state is SchemaState.NEWER:
        raise SchemaMismatch(status)
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return schema_status(engine)


def downgrade(engine: Engine, revision: str) -> SchemaStatus:
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    return schema_status(engine)


class SchemaMismatch(RuntimeError):
    def __init__(self, status: SchemaStatus) -> None:
        super().__init__(status.explain())
        self.status = status
