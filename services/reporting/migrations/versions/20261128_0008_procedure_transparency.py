"""procedure transparency: the catalogue's Decision 766 facts on the procedure replica (issue 11, point 6)

Revision ID: 0008_transparency
Revises: 0007_privacy_pseudonym
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_transparency"
down_revision: str | None = "0007_privacy_pseudonym"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("publication_due_on", "national_db_due_on", "public_in_national_db_on")


def upgrade() -> None:
    # Null for versions folded before the catalogue published these facts: the index says "no data" for them
    # rather than guess (a rebuild from the events fills them where the events carry them).
    with op.batch_alter_table("procedure_state") as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("components_complete", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("procedure_state") as batch_op:
        batch_op.drop_column("components_complete")
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
