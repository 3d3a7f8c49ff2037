"""dossier submitted_by: the client that submitted a dossier, so a portal acts on its own dossiers only

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Dossiers received before this revision have no submitter: no portal may act on them (staff still may).
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitted_by", sa.String(length=120), nullable=True))
        batch_op.create_index(batch_op.f("ix_dossier_submitted_by"), ["submitted_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossier_submitted_by"))
        batch_op.drop_column("submitted_by")
