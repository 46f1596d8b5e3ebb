"""screen pop indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

The screen pop reads a customer's open complaints and pages their history newest first;
both are per-customer reads that these composite indexes answer without sorting.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_complaints_customer_status", "complaints", ["customer_id", "status"], unique=False
    )
    op.create_index(
        "ix_complaints_customer_created", "complaints", ["customer_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_complaints_customer_created", table_name="complaints")
    op.drop_index("ix_complaints_customer_status", table_name="complaints")
