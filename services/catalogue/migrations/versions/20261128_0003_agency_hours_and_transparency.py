"""agency working hours and days; the procedure version's national-database date

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opening_sessions", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("extra_holidays", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("extra_working_days", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("procedure_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_in_national_db_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("procedure_version", schema=None) as batch_op:
        batch_op.drop_column("public_in_national_db_on")
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.drop_column("extra_working_days")
        batch_op.drop_column("extra_holidays")
        batch_op.drop_column("opening_sessions")
