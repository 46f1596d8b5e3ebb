"""script pack activation: who activated which version when; one active pack at a time

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("script_packs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("activated_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_script_packs_activated_by_id_agents"),
            "agents",
            ["activated_by_id"],
            ["id"],
        )
        batch_op.create_index(
            "uq_script_packs_one_active",
            ["active"],
            unique=True,
            postgresql_where=sa.text("active"),
            sqlite_where=sa.text("active"),
        )


def downgrade() -> None:
    with op.batch_alter_table("script_packs", schema=None) as batch_op:
        batch_op.drop_index("uq_script_packs_one_active")
        batch_op.drop_constraint(
            batch_op.f("fk_script_packs_activated_by_id_agents"), type_="foreignkey"
        )
        batch_op.drop_column("activated_by_id")
        batch_op.drop_column("activated_at")
