"""the agency replica keeps the agency's own working hours and days, and when the catalogue published them

Revision ID: 0007_agencycal
Revises: 0006
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_agencycal"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows replicated before this migration have no hours (the province's calendar) and no publication time (the
    # next publication replaces them whatever its time).
    with op.batch_alter_table("agency_replica", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opening_sessions", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("extra_holidays", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("extra_working_days", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agency_replica", schema=None) as batch_op:
        batch_op.drop_column("published_at")
        batch_op.drop_column("extra_working_days")
        batch_op.drop_column("extra_holidays")
        batch_op.drop_column("opening_sessions")
