"""dossier agency replica: which agencies a dossier belongs to (receiving, handling, current), for scoping

Revision ID: 0003_hardening_dossier_agency
Revises: 0002
Create Date: 2026-11-28 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_hardening_dossier_agency"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dossier_agency",
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("receiving_agency_code", sa.String(length=40), nullable=True),
        sa.Column("handling_agency_code", sa.String(length=40), nullable=True),
        sa.Column("current_agency_code", sa.String(length=40), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dossier_code", name=op.f("pk_dossier_agency")),
    )
    with op.batch_alter_table("dossier_agency", schema=None) as batch_op:
        for column in ("receiving_agency_code", "handling_agency_code", "current_agency_code"):
            batch_op.create_index(batch_op.f(f"ix_dossier_agency_{column}"), [column], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dossier_agency", schema=None) as batch_op:
        for column in ("receiving_agency_code", "handling_agency_code", "current_agency_code"):
            batch_op.drop_index(batch_op.f(f"ix_dossier_agency_{column}"))
    op.drop_table("dossier_agency")
