"""documents' and fees' facts from digitisation's and payments' events, for the national portal's record

Revision ID: 0008_owner_facts
Revises: 0007_agencycal
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_owner_facts"
down_revision: str | None = "0007_agencycal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dossier_owner_facts",
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("fees", sa.JSON(), nullable=True),
        sa.Column("fees_total_vnd", sa.Integer(), nullable=True),
        sa.Column("payments", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dossier_code", name=op.f("pk_dossier_owner_facts")),
    )


def downgrade() -> None:
    op.drop_table("dossier_owner_facts")
