"""outbound deliveries and notice consent

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from libs.common.delivery import create_delivery_tables, drop_delivery_tables

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_delivery_tables(op)
    op.create_table(
        "notice_consent",
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("sms", sa.Boolean(), nullable=False),
        sa.Column("zalo", sa.Boolean(), nullable=False),
        sa.Column("by_email", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("dossier_code", name=op.f("pk_notice_consent")),
    )


def downgrade() -> None:
    op.drop_table("notice_consent")
    drop_delivery_tables(op)
