"""What the request models of every aggregate share: the ``at`` of a recorded step and the agency-code rule."""

from __future__ import annotations

from services.intake.domain.codes import is_agency_code

AT_DESCRIPTION = (
    "When it happened, if recorded later (historical data, a step done on paper). Never in the future, never before "
    "the dossier's previous step. Defaults to now."
)


def check_agency_code(value: str | None) -> str | None:
    """For field validators: an agency code in the catalogue's form (docs/domain.md, "Codes")."""
    if value is not None and not is_agency_code(value):
        raise ValueError("an agency code looks like 000.00.00.H56 (QCVN 102:2016)")
    return value
