"""Alembic environment: upgrades run from code (`agent_desk.store.migrations`), which passes
the connection in `config.attributes["connection"]`; a plain URL works for offline SQL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from agent_desk.store.models import Base

target_metadata = Base.metadata
config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if context.is_offline_mode():
            context.configure(
                url=url, target_metadata=target_metadata, render_as_batch=True, literal_binds=True
            )
            with context.begin_transaction():
                context.run_migrations()
            return
        engine = create_engine(url)
        with engine.begin() as conn:
            _run_on(conn)
        engine.dispose()
        return
    _run_on(connection)


def _run_on(connection) -> None:  # type: ignore[no-untyped-def]
    # render_as_batch: SQLite cannot ALTER most things, batch mode copies the table instead.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
