"""Formats of the identifiers every service reads and writes (docs/domain.md §Identifiers): one definition each.

Each format comes twice: a compiled regex for plain code (``AGENCY_CODE.fullmatch(value)``) and an annotated ``str``
for pydantic models (``code: AgencyCode``), whose pattern also lands in the OpenAPI schema. ``[0-9]`` rather than
``\\d``: ``\\d`` also matches other scripts' digits, which no register issues.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StringConstraints

# QCVN 102:2016: V1V2V3.Z1Z2.Y1Y2.MX1X2, level 1 on the right, 00/000 where a level is absent, M a letter A–Y.
_AGENCY = r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Y][0-9]{2}"
# Circular 01/2018 Art. 19: <receiving agency code>-YYMMDD-NNNN, the sequence widening past 9999.
_DOSSIER = rf"{_AGENCY}-[0-9]{{6}}-[0-9]{{4,}}"
# National procedure database: N.NNNNNN (1.001193, 2.000815).
_PROCEDURE = r"[0-9]\.[0-9]{6}"
# Circular 01/2018 Art. 20: MX1X2-LV (G03-GD10), the level-1 unit then the sector's letters and number.
_SECTOR = r"[A-Z][0-9]{2}-[A-Z]{1,4}[0-9]{1,4}"
# 3 digits province of birth registration (001–096), 1 digit century and sex, 2 digits year of birth, 6 digits.
_PERSONAL_ID = r"(?:00[1-9]|0[1-8][0-9]|09[0-6])[0-9]{9}"
# The enterprise code is its tax code: 10 digits, a dependent unit adds -NNN.
_ENTERPRISE = r"[0-9]{10}(?:-[0-9]{3})?"
# A procedure's result code (KQ001193) or a catalogue component code (GKS, TP1). No dot: the dot separates the
# identity code from the type code in a document id.
_DOCUMENT_TYPE = r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}"
# Decision 468/QĐ-TTg plans; Circular 01/2023/TT-VPCP Art. 10: <holder's identity code>.<document type code>.
_DOCUMENT_ID = rf"(?:{_PERSONAL_ID}|{_ENTERPRISE})\.{_DOCUMENT_TYPE}"


def _whole(pattern: str) -> str:
    return f"^{pattern}$"


AGENCY_CODE = re.compile(_whole(_AGENCY))
DOSSIER_CODE = re.compile(_whole(_DOSSIER))
PROCEDURE_CODE = re.compile(_whole(_PROCEDURE))
SECTOR_CODE = re.compile(_whole(_SECTOR))
PERSONAL_ID_NUMBER = re.compile(_whole(_PERSONAL_ID))
ENTERPRISE_CODE = re.compile(_whole(_ENTERPRISE))
DOCUMENT_TYPE_CODE = re.compile(_whole(_DOCUMENT_TYPE))
DOCUMENT_ID = re.compile(_whole(_DOCUMENT_ID))

AgencyCode = Annotated[
    str,
    StringConstraints(pattern=AGENCY_CODE.pattern),
    Field(description="agency code V1V2V3.Z1Z2.Y1Y2.MX1X2 (QCVN 102:2016)", examples=["000.17.22.H56"]),
]
DossierCode = Annotated[
    str,
    StringConstraints(pattern=DOSSIER_CODE.pattern),
    Field(description="dossier code <receiving agency code>-YYMMDD-NNNN", examples=["000.17.22.H56-260302-0001"]),
]
ProcedureCode = Annotated[
    str,
    StringConstraints(pattern=PROCEDURE_CODE.pattern),
    Field(description="national procedure code N.NNNNNN", examples=["1.001193"]),
]
SectorCode = Annotated[
    str,
    StringConstraints(pattern=SECTOR_CODE.pattern),
    Field(description="sector code MX1X2-LV", examples=["G03-GD10"]),
]
PersonalIdNumber = Annotated[
    str,
    StringConstraints(pattern=PERSONAL_ID_NUMBER.pattern),
    Field(description="12-digit personal identification number", examples=["001204012345"]),
]
EnterpriseCode = Annotated[
    str,
    StringConstraints(pattern=ENTERPRISE_CODE.pattern),
    Field(description="enterprise (tax) code, 10 digits, -NNN for a dependent unit", examples=["0101234567"]),
]
DocumentTypeCode = Annotated[
    str,
    StringConstraints(pattern=DOCUMENT_TYPE_CODE.pattern),
    Field(description="document type code: 1–40 letters, digits, '-' or '_', no dot", examples=["KQ001193"]),
]
DocumentId = Annotated[
    str,
    StringConstraints(pattern=DOCUMENT_ID.pattern),
    Field(description="digitised document id <identity code>.<document type code>", examples=["001204012345.GKS"]),
]


def personal_id_problem(value: str) -> str | None:
    """Why ``value`` is not a personal identification number, or None if it is one (two messages, two mistakes)."""
    if PERSONAL_ID_NUMBER.fullmatch(value) is not None:
        return None
    if re.fullmatch(r"[0-9]{12}", value) is None:
        return "a personal identification number is 12 digits"
    return "the first 3 digits (province of birth registration) must be 001–096"


__all__ = [
    "AGENCY_CODE",
    "DOCUMENT_ID",
    "DOCUMENT_TYPE_CODE",
    "DOSSIER_CODE",
    "ENTERPRISE_CODE",
    "PERSONAL_ID_NUMBER",
    "PROCEDURE_CODE",
    "SECTOR_CODE",
    "AgencyCode",
    "DocumentId",
    "DocumentTypeCode",
    "DossierCode",
    "EnterpriseCode",
    "PersonalIdNumber",
    "ProcedureCode",
    "SectorCode",
    "personal_id_problem",
]
