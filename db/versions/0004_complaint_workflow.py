"""complaint workflow: handler notes, supervisor hand-off, versioned audit events, indexes for
repeat faults and callbacks due

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

A desk that loses an optimistic-lock race reads what it missed as the audit events above its
version, so each event records the version it produced. Repeat detection reads the newest
complaints about one product in one category; the callbacks-due list reads open complaints by
promised reply time, for the team and for one operator. The single-column indexes on
customer_id and status go: the composite ones begin with those columns, and each index is
one more write on every submit.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notes", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("escalation_reason", sa.Text(), server_default="", nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_complaints_escalated_by_id_agents"),
            "agents",
            ["escalated_by_id"],
            ["id"],
        )
        batch_op.create_index(
            "ix_complaints_repeat",
            ["customer_id", "purchase_id", "category", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_complaints_status_promised", ["status", "promised_reply_at"], unique=False
        )
        batch_op.create_index(
            "ix_complaints_creator_promised", ["created_by_id", "promised_reply_at"], unique=False
        )
        # Every submit maintains every index; these two are prefixes of the composite ones.
        batch_op.drop_index("ix_complaints_customer_id")
        batch_op.drop_index("ix_complaints_status")
    with op.batch_alter_table("complaint_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("complaint_events", schema=None) as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index("ix_complaints_status", ["status"], unique=False)
        batch_op.create_index("ix_complaints_customer_id", ["customer_id"], unique=False)
        batch_op.drop_index("ix_complaints_creator_promised")
        batch_op.drop_index("ix_complaints_status_promised")
        batch_op.drop_index("ix_complaints_repeat")
        batch_op.drop_constraint(
            batch_op.f("fk_complaints_escalated_by_id_agents"), type_="foreignkey"
        )
        batch_op.drop_column("escalation_reason")
        batch_op.drop_column("escalated_by_id")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("notes")
