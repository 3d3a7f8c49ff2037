"""Formats of the codes a dossier carries (domain.md A2)."""

from __future__ import annotations

import re
from datetime import date

# QCVN 102:2016: V1V2V3.Z1Z2.Y1Y2.MX1X2, level 1 on the right, zeros where a level is absent; M a letter A–Y.
AGENCY_CODE = re.compile(r"^[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Y][0-9A-Z]{2}$")
PROCEDURE_CODE = re.compile(r"^\d\.\d{6}$")
PERSONAL_ID = re.compile(r"^(\d{3})(\d)(\d{2})(\d{6})$")
ENTERPRISE_CODE = re.compile(r"^\d{10}(-\d{3})?$")


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
