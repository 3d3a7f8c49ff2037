"""The shared identifier formats (docs/domain.md §Identifiers): regex and annotated type say the same thing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from libs.common.contract import (
    AGENCY_CODE,
    DOCUMENT_ID,
    DOCUMENT_TYPE_CODE,
    DOSSIER_CODE,
    ENTERPRISE_CODE,
    PERSONAL_ID_NUMBER,
    PROCEDURE_CODE,
    SECTOR_CODE,
    AgencyCode,
    DocumentId,
    DocumentTypeCode,
    DossierCode,
    EnterpriseCode,
    PersonalIdNumber,
    ProcedureCode,
    SectorCode,
    personal_id_problem,
)

CASES: list[tuple[re.Pattern[str], Any, list[str], list[str]]] = [
    (
        AGENCY_CODE,
        AgencyCode,
        ["000.00.00.H56", "000.17.22.H56", "123.45.67.A01"],
        ["000.00.00.Z56", "00.00.00.H56", "000.00.00.H5", "000.00.00.h56", "0A0.00.00.H56", "000.00.00.H56\n"],
    ),
    (
        DOSSIER_CODE,
        DossierCode,
        ["000.17.22.H56-210531-0001", "000.00.00.H56-260302-12345"],
        ["000.17.22.H56-210531-001", "H56-210531-0001", "000.17.22.Z56-210531-0001", "0AB.17.22.H56-210531-0001"],
    ),
    (PROCEDURE_CODE, ProcedureCode, ["1.001193", "2.000815"], ["1.01193", "1001193", "1.0011930", "١.001193"]),
    (SECTOR_CODE, SectorCode, ["G03-GD10", "H56-HT01"], ["G03GD10", "g03-gd10", "G3-GD10"]),
    (
        PERSONAL_ID_NUMBER,
        PersonalIdNumber,
        ["001204012345", "096099000001", "079185123456"],
        ["000204012345", "097204012345", "00120401234", "0012040123456", "00120401234a", "٠٠١204012345"],
    ),
    (ENTERPRISE_CODE, EnterpriseCode, ["0101234567", "0101234567-001"],
     ["010123456", "0101234567-01", "0101234567001", "ABCDEFGHIJ", ""]),
    (DOCUMENT_TYPE_CODE, DocumentTypeCode, ["KQ001193", "GKS", "TP1", "TP-01", "giay_to_1"],
     ["", "KQ.001193", "-GKS", "GKS 1", "X" * 41, "Giấy"]),
    (DOCUMENT_ID, DocumentId, ["001204012345.KQ001193", "0101234567-001.GKS"],
     ["001204012345", "000204012345.GKS", "001204012345.", "ABC.GKS", "001204012345.KQ.1"]),
]  # fmt: skip


@pytest.mark.parametrize(("regex", "annotated", "good", "bad"), CASES, ids=lambda c: getattr(c, "pattern", ""))
def test_regex_and_annotated_type_agree(
    regex: re.Pattern[str], annotated: Any, good: list[str], bad: list[str]
) -> None:
    adapter: TypeAdapter[str] = TypeAdapter(annotated)
    for value in good:
        assert regex.fullmatch(value), value
        assert adapter.validate_python(value) == value
    for value in bad:
        assert regex.fullmatch(value) is None, value
        with pytest.raises(ValidationError):
            adapter.validate_python(value)


def test_the_pattern_is_in_the_json_schema() -> None:
    assert TypeAdapter(AgencyCode).json_schema()["pattern"] == AGENCY_CODE.pattern


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("000204012345", "001–096"), ("097204012345", "001–096"), ("00120401234", "12 digits"), ("x", "12 digits")],
)
def test_personal_id_problems_name_the_mistake(value: str, fragment: str) -> None:
    problem = personal_id_problem(value)
    assert problem is not None and fragment in problem
    assert personal_id_problem("001204012345") is None
