"""applicant pseudonyms with their key id: dossier_fact.applicant_hash holds <key id>:<HMAC hex> as events carry it
(issue 9); hashes folded before are the legacy key's, which is key id k1

Revision ID: 0007_privacy_pseudonym
Revises: 0006_officers
Create Date: 2026-11-28 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_privacy_pseudonym"
down_revision: str | None = "0006_officers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossier_fact") as batch:
        batch.alter_column("applicant_hash", type_=sa.String(length=100), existing_type=sa.String(length=64))
    # The same person keeps the same value: distinct-applicant counts over old and new facts do not change.
    op.execute(
        "UPDATE dossier_fact SET applicant_hash = 'k1:' || applicant_hash "
        "WHERE applicant_hash IS NOT NULL AND applicant_hash NOT LIKE '%:%'"
    )


def downgrade() -> None:
    op.execute("UPDATE dossier_fact SET applicant_hash = substr(applicant_hash, 4) WHERE applicant_hash LIKE 'k1:%'")
    with op.batch_alter_table("dossier_fact") as batch:
        batch.alter_column("applicant_hash", type_=sa.String(length=64), existing_type=sa.String(length=100))
