"""Formats of the codes a digitised document carries (domain.md A2).

A digitised document is named ``<identity code>.<document type code>`` (Decision 468 plans; Circular 01/2023/TT-VPCP
Art. 10): the holder's identity code, then the type. The identity code is a 12-digit personal identification number
for a person, the enterprise (tax) code for an organisation.
"""

from __future__ import annotations

import re
from enum import StrEnum

PERSONAL_ID = re.compile(r"^(\d{3})(\d)(\d{2})(\d{6})$")
ENTERPRISE_CODE = re.compile(r"^\d{10}(-\d{3})?$")
# A procedure's result code in the national database (e.g. KQ001193) or a catalogue component code (e.g. GKS, TP1).
# No dot: the dot separates the identity code from the type code in a document id.
TYPE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
AGENCY_CODE = r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Y][0-9A-Z]{2}"
DOSSIER_CODE = re.compile(rf"^{AGENCY_CODE}-\d{{6}}-\d{{4,}}$")


class HolderKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


def personal_id_problem(value: str) -> str | None:
    """Why ``value`` is not a 12-digit personal identification number, or None if it is one."""
    match = PERSONAL_ID.fullmatch(value)
    if match is None:
        return "a personal identification number is 12 digits"
    if not 1 <= int(match.group(1)) <= 96:
        return "the first 3 digits (province of birth registration) must be 001–096"
    return None


def enterprise_code_problem(value: str) -> str | None:
    if ENTERPRISE_CODE.fullmatch(value) is None:
        return "an enterprise code is 10 digits, or NNNNNNNNNN-NNN for a dependent unit"
    return None


def holder_kind_of(id_code: str) -> HolderKind | None:
    """The kind of holder an identity code names, or None when it is neither format."""
    if personal_id_problem(id_code) is None:
        return HolderKind.PERSON
    if enterprise_code_problem(id_code) is None:
        return HolderKind.ORGANISATION
    return None


def identity_code_problem(id_code: str, kind: HolderKind | None = None) -> str | None:
    """Why ``id_code`` is not an identity code (of ``kind`` when given), or None if it is one."""
    if kind is HolderKind.PERSON:
        return personal_id_problem(id_code)
    if kind is HolderKind.ORGANISATION:
        return enterprise_code_problem(id_code)
    if holder_kind_of(id_code) is not None:
        return None
    if id_code.isdigit() and len(id_code) == 12:
        return personal_id_problem(id_code)
    return "expected a 12-digit personal identification number or a 10-digit enterprise code (NNNNNNNNNN[-NNN])"


def type_code_problem(value: str) -> str | None:
    if TYPE_CODE.fullmatch(value) is None:
        return "a document type code is 1–40 letters, digits, '-' or '_' (a result code or a component code)"
    return None


def is_dossier_code(value: str) -> bool:
    """``<receiving agency code>-YYMMDD-XXXX`` (Circular 01/2018 Art. 19)."""
    return DOSSIER_CODE.fullmatch(value) is not None


def document_id(holder_id_code: str, type_code: str) -> str:
    return f"{holder_id_code}.{type_code}"


def split_document_id(value: str) -> tuple[str, str] | None:
    """``(identity code, type code)`` of a well-formed document id, else None."""
    holder, dot, type_code = value.rpartition(".")
    if not dot or identity_code_problem(holder) is not None or type_code_problem(type_code) is not None:
        return None
    return holder, type_code
