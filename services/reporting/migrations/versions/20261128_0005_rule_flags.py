"""rule flags: whether an apology was issued in time and whether the first request to supplement came within three
working days (issue 11)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for facts folded before the fields existed: the indicators leave them out rather than guess.
    op.add_column("dossier_fact", sa.Column("apology_in_time", sa.Boolean(), nullable=True))
    op.add_column("dossier_fact", sa.Column("first_request_in_time", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column("dossier_fact", "first_request_in_time")
    op.drop_column("dossier_fact", "apology_in_time")
