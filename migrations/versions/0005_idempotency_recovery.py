"""Idempotency keys: attempts, locks and recovery points (ADR 14).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as table:
        table.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))
        table.add_column(sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("recovery_point", sa.String(length=64), nullable=True))
        table.add_column(sa.Column("recovery_data", sa.JSON(), nullable=True))
    # Keys claimed before this revision were locked when they were created.
    op.execute("UPDATE idempotency_keys SET locked_at = created_at WHERE state = 'in_progress'")
    with op.batch_alter_table("idempotency_keys") as table:
        table.alter_column("attempt", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as table:
        table.drop_column("recovery_data")
        table.drop_column("recovery_point")
        table.drop_column("locked_at")
        table.drop_column("attempt")
