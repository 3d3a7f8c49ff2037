"""Formats of the codes a dossier carries (docs/domain.md, "Codes"): the only place intake spells them.

The agency code is the catalogue's strict form, so intake accepts exactly the agencies the catalogue publishes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

# QCVN 102:2016: V1V2V3.Z1Z2.Y1Y2.MX1X2, level 1 on the right, zeros where a level is absent; M a letter A–Y.
_AGENCY = r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Y][0-9]{2}"
AGENCY_CODE = re.compile(rf"^{_AGENCY}$")
# Circular 01/2018 Art. 19: <receiving agency code>-YYMMDD-XXXX, the sequence widening past 9999.
DOSSIER_CODE = re.compile(rf"^(?P<agency>{_AGENCY})-(?P<day>[0-9]{{6}})-(?P<sequence>[0-9]{{4,}})$")
PROCEDURE_CODE = re.compile(r"^[0-9]\.[0-9]{6}$")
PERSONAL_ID = re.compile(r"^([0-9]{3})([0-9])([0-9]{2})([0-9]{6})$")
ENTERPRISE_CODE = re.compile(r"^[0-9]{10}(-[0-9]{3})?$")


def is_agency_code(value: str) -> bool:
    return AGENCY_CODE.fullmatch(value) is not None


def is_procedure_code(value: str) -> bool:
    return PROCEDURE_CODE.fullmatch(value) is not None


def personal_id_problem(value: str) -> str | None:
    """Why ``value`` is not a 12-digit personal identification number, or None if it is one."""
    match = PERSONAL_ID.fullmatch(value)
    if match is None:
        return "must be 12 digits"
    province = int(match.group(1))
    if not 1 <= province <= 96:
        return "the first 3 digits (province of birth registration) must be 001–096"
    return None


def is_enterprise_code(value: str) -> bool:
    return ENTERPRISE_CODE.fullmatch(value) is not None


def dossier_code(agency_code: str, received_on: date, sequence: int) -> str:
    """``<receiving agency code>-YYMMDD-XXXX`` (Circular 01/2018 Art. 19); the sequence widens past 9999."""
    return f"{agency_code}-{received_on:%y%m%d}-{sequence:04d}"


@dataclass(frozen=True)
class DossierCodeParts:
    agency_code: str
    received_on: date
    sequence: int


def parse_dossier_code(code: str) -> DossierCodeParts | None:
    """The parts of a dossier code, or None if ``code`` is not one (an impossible date included)."""
    match = DOSSIER_CODE.fullmatch(code)
    if match is None:
        return None
    try:
        day = datetime.strptime(match["day"], "%y%m%d").date()
    except ValueError:
        return None
    return DossierCodeParts(match["agency"], day, int(match["sequence"]))
