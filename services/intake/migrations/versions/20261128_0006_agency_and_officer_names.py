"""agency and officer names as at receipt

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: dossiers received before this migration have no snapshot and the forms fall back to the replica.
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receiving_agency_name", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("handling_agency_name", sa.String(length=300), nullable=True))
    with op.batch_alter_table("dossier_step", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_name", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dossier_step", schema=None) as batch_op:
        batch_op.drop_column("actor_name")
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_column("handling_agency_name")
        batch_op.drop_column("receiving_agency_name")
