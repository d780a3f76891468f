"""Events carry the version of their payload's shape; the relay's lease.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as table:
        table.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    # Events recorded before payloads were typed (version 0) are history: no relay existed and
    # nobody consumed them, so they are not published now.
    op.execute("UPDATE events SET version = 0, published_at = occurred_at")
    with op.batch_alter_table("events") as table:
        table.alter_column("version", server_default=None)
    op.create_table(
        "relay_leases",
        sa.Column("name", sa.String(length=40), primary_key=True),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("relay_leases")
    with op.batch_alter_table("events") as table:
        table.drop_column("version")
