"""Code formats of the catalogue (domain.md A2)."""

from __future__ import annotations

import re
from enum import StrEnum

# National procedure database: N.NNNNNN (1.001193, 2.000815).
PROCEDURE_CODE = re.compile(r"^\d\.\d{6}$")
# QCVN 102:2016: V1V2V3.Z1Z2.Y1Y2.MX1X2, level 1 on the right, 00/000 where a level is absent, M a letter A–Y.
AGENCY_CODE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Y]\d{2}$")
# Circular 01/2018 Art. 20: MX1X2-LV (G03-GD10): the level-1 unit, then the sector's letters and number.
SECTOR_CODE = re.compile(r"^[A-Z]\d{2}-[A-Z]{1,4}\d{1,4}$")
# Document-type codes end the digitised document id ``<identity code>.<type code>``: no dot, no space.
DOCUMENT_TYPE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class Level(StrEnum):
    """Administrative levels are data (domain.md A3): three in the seed years, province and commune since 2025."""

    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"


def is_procedure_code(code: str) -> bool:
    return PROCEDURE_CODE.fullmatch(code) is not None


def is_agency_code(code: str) -> bool:
    return AGENCY_CODE.fullmatch(code) is not None


def is_sector_code(code: str) -> bool:
    return SECTOR_CODE.fullmatch(code) is not None


def is_document_type_code(code: str) -> bool:
    return DOCUMENT_TYPE_CODE.fullmatch(code) is not None
