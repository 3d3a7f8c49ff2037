"""dossier_fact.synced_to_portal_at (Decision 766: dossiers synchronised to the national portal)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossier_fact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("synced_to_portal_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dossier_fact", schema=None) as batch_op:
        batch_op.drop_column("synced_to_portal_at")
