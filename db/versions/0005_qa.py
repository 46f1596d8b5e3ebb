"""QA evaluations: calibration scorecards apart from the agent's evaluations, and who
acknowledged an evaluation

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

A second team lead scoring the same call to compare (calibration) writes a row of kind
"calibration": it is kept and compared, but never counts as the agent's evaluation or is
shown to the agent. Acknowledging records the agent as well as the time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("qa_evaluations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), server_default="evaluation", nullable=False)
        )
        batch_op.add_column(sa.Column("acknowledged_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_qa_evaluations_acknowledged_by_id_agents"),
            "agents",
            ["acknowledged_by_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("qa_evaluations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_qa_evaluations_acknowledged_by_id_agents"), type_="foreignkey"
        )
        batch_op.drop_column("acknowledged_by_id")
        batch_op.drop_column("kind")
