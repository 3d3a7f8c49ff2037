"""Intake's use of the shared identifier formats (docs/domain.md §Identifiers, defined once in
``libs/common/contract/codes.py``): the checks its models call, and building and reading a dossier code.

The agency code is the catalogue's strict form, so intake accepts exactly the agencies the catalogue publishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from libs.common.contract import AGENCY_CODE, DOSSIER_CODE, ENTERPRISE_CODE, PROCEDURE_CODE, personal_id_problem

__all__ = [
    "SEQUENCE_DIGITS",
    "DossierCodeParts",
    "dossier_code",
    "dossier_code_prefix",
    "is_agency_code",
    "is_enterprise_code",
    "is_procedure_code",
    "parse_dossier_code",
    "personal_id_problem",
]


def is_agency_code(value: str) -> bool:
    return AGENCY_CODE.fullmatch(value) is not None


def is_procedure_code(value: str) -> bool:
    return PROCEDURE_CODE.fullmatch(value) is not None


def is_enterprise_code(value: str) -> bool:
    return ENTERPRISE_CODE.fullmatch(value) is not None


SEQUENCE_DIGITS = 4  # the XXXX: zero-padded to four digits, wider past 9999


def dossier_code(agency_code: str, received_on: date, sequence: int) -> str:
    """``<receiving agency code>-YYMMDD-XXXX`` (Circular 01/2018 Art. 19); the sequence widens past 9999."""
    return f"{dossier_code_prefix(agency_code, received_on)}{sequence:0{SEQUENCE_DIGITS}d}"


def dossier_code_prefix(agency_code: str, received_on: date) -> str:
    """The code before its sequence number (the receipt's single statement on PostgreSQL appends the number in SQL,
    ``services.intake.dossiers.receipt``, tested against ``dossier_code``)."""
    return f"{agency_code}-{received_on:%y%m%d}-"


@dataclass(frozen=True)
class DossierCodeParts:
    agency_code: str
    received_on: date
    sequence: int


def parse_dossier_code(code: str) -> DossierCodeParts | None:
    """The parts of a dossier code, or None if ``code`` is not one (an impossible date included)."""
    if DOSSIER_CODE.fullmatch(code) is None:
        return None
    agency, day, sequence = code.rsplit("-", 2)
    try:
        received_on = datetime.strptime(day, "%y%m%d").date()
    except ValueError:
        return None
    return DossierCodeParts(agency, received_on, int(sequence))
