"""Identity, type, dossier and document codes (docs/domain.md §Identifiers)."""

from __future__ import annotations

import pytest

from services.digitisation.domain.codes import (
    HolderKind,
    document_id,
    holder_kind_of,
    identity_code_problem,
    is_dossier_code,
    personal_id_problem,
    split_document_id,
    type_code_problem,
)


@pytest.mark.parametrize("value", ["001204012345", "096099000001", "079185123456"])
def test_personal_ids_of_provinces_001_to_096(value: str) -> None:
    assert personal_id_problem(value) is None
    assert holder_kind_of(value) is HolderKind.PERSON


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("000204012345", "001–096"),
        ("097204012345", "001–096"),
        ("00120401234", "12 digits"),
        ("0012040123456", "12 digits"),
        ("00120401234a", "12 digits"),
    ],
)
def test_malformed_personal_ids(value: str, fragment: str) -> None:
    problem = personal_id_problem(value)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize("value", ["0101234567", "0101234567-001"])
def test_enterprise_codes(value: str) -> None:
    assert holder_kind_of(value) is HolderKind.ORGANISATION
    assert identity_code_problem(value, HolderKind.ORGANISATION) is None


@pytest.mark.parametrize("value", ["010123456", "0101234567-01", "0101234567001", "ABCDEFGHIJ", ""])
def test_neither_kind(value: str) -> None:
    assert holder_kind_of(value) is None
    assert identity_code_problem(value) is not None


def test_the_kind_must_match_the_code() -> None:
    assert identity_code_problem("0101234567", HolderKind.PERSON) is not None
    assert identity_code_problem("001204012345", HolderKind.ORGANISATION) is not None


def test_a_12_digit_code_of_an_unknown_province_names_the_province() -> None:
    problem = identity_code_problem("099204012345")
    assert problem is not None and "province" in problem


@pytest.mark.parametrize("value", ["KQ001193", "GKS", "TP1", "TP-01", "giay_to_1"])
def test_type_codes(value: str) -> None:
    assert type_code_problem(value) is None


@pytest.mark.parametrize("value", ["", "KQ.001193", "-GKS", "GKS 1", "X" * 41, "Giấy"])
def test_malformed_type_codes(value: str) -> None:
    assert type_code_problem(value) is not None


def test_dossier_codes() -> None:
    assert is_dossier_code("000.17.22.H56-210531-0001")
    assert is_dossier_code("000.00.00.H56-260302-12345")
    assert not is_dossier_code("000.17.22.H56-210531-001")
    assert not is_dossier_code("H56-210531-0001")
    assert not is_dossier_code("000.17.22.Z56-210531-0001")


def test_document_ids_round_trip() -> None:
    assert document_id("001204012345", "KQ001193") == "001204012345.KQ001193"
    assert split_document_id("001204012345.KQ001193") == ("001204012345", "KQ001193")
    assert split_document_id("0101234567-001.GPKD") == ("0101234567-001", "GPKD")
    assert split_document_id("001204012345") is None
    assert split_document_id("12345.KQ1") is None
    assert split_document_id("001204012345.") is None
