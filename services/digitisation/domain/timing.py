"""When a digitisation or a re-use happened (docs/digitisation.md §Time): a scan keyed in later keeps the time it was
made, so it lands in the right reporting period. Nothing is recorded in the future; a new version of a document is
not older than the version before it; a document is not re-used before it was digitised.

Digitisation does not receive intake's events, so it cannot check that a scan attached to a dossier is not older
than the dossier's receipt (docs/domain.md §Digitisation and re-use); intake, which knows the receipt, is where that
rule can be enforced."""

from __future__ import annotations

from datetime import datetime


def digitisation_problem(at: datetime, now: datetime, previous_at: datetime | None) -> str | None:
    if at > now:
        return "in the future"
    if previous_at is not None and at < previous_at:
        return f"before the document's previous version ({previous_at.isoformat()})"
    return None


def reuse_problem(at: datetime, now: datetime, first_digitised_at: datetime) -> str | None:
    if at > now:
        return "in the future"
    if at < first_digitised_at:
        return f"before the document was digitised ({first_digitised_at.isoformat()})"
    return None


def before_receipt_problem(at: datetime, received_at: datetime | None) -> str | None:
    """A document attached to a dossier cannot be digitised or re-used before intake received that dossier
    (docs/digitisation.md §Time). Unknown until the dossier replica has seen the receipt: then nothing is refused."""
    if received_at is not None and at < received_at:
        return f"before the dossier was received ({received_at.isoformat()})"
    return None
