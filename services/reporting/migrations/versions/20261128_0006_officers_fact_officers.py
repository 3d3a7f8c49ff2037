"""dossier_fact: the officers who received and who finished each dossier (the monthly list of late agencies and
officers, issue 12)

Revision ID: 0006_officers
Revises: 0005
Create Date: 2026-11-28 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_officers"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("received_by_id", "received_by_name", "finished_by_id", "finished_by_name")


def upgrade() -> None:
    # Null for facts whose events carry no officer (recorded before the field existed): shown as unknown, never
    # guessed. A refold fills them wherever the events do name one.
    with op.batch_alter_table("dossier_fact", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dossier_fact", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
