"""Versions, validity and what re-use offers; the rules a digitisation must follow."""

from __future__ import annotations

from datetime import date

import pytest

from services.digitisation.domain.codes import HolderKind
from services.digitisation.domain.warehouse import (
    Source,
    Validity,
    Version,
    digitisation_problems,
    holdings,
    is_repeat,
    next_version,
    offered,
    validity,
)

TODAY = date(2026, 3, 2)


def v(version: int, *, doc: str = "001204012345.KQ001193", type_code: str = "KQ001193", **changes: object) -> Version:
    fields: dict[str, object] = {
        "document_id": doc,
        "version": version,
        "type_code": type_code,
        "signed": True,
        "valid_until": None,
        "file_sha256": f"sha-{doc}-{version}",
        "dossier_code": None,
        "component_code": None,
    }
    fields.update(changes)
    return Version(**fields)  # type: ignore[arg-type]


def test_versions_count_from_one() -> None:
    assert next_version([]) == 1
    assert next_version([1, 3, 2]) == 4


@pytest.mark.parametrize(
    ("doc", "newest", "expected"),
    [
        (v(2), 2, Validity.VALID),
        (v(1), 2, Validity.SUPERSEDED),
        (v(2, signed=False), 2, Validity.UNSIGNED),
        (v(2, valid_until=date(2026, 3, 1)), 2, Validity.EXPIRED),
        (v(2, valid_until=TODAY), 2, Validity.VALID),  # valid through its last day
        (v(2, valid_until=date(2030, 1, 1)), 2, Validity.VALID),
        (v(1, valid_until=date(2030, 1, 1)), 2, Validity.SUPERSEDED),
    ],
)
def test_validity(doc: Version, newest: int, expected: Validity) -> None:
    assert validity(doc, newest, TODAY) is expected


def test_the_newest_version_is_offered_when_valid() -> None:
    assert offered([v(1), v(3), v(2)], TODAY) == v(3)


def test_an_expired_newest_version_offers_nothing_not_an_older_one() -> None:
    assert offered([v(1), v(2, valid_until=date(2026, 1, 1))], TODAY) is None


def test_an_unsigned_newest_version_offers_nothing() -> None:
    assert offered([v(1), v(2, signed=False)], TODAY) is None


def test_no_versions_offer_nothing() -> None:
    assert offered([], TODAY) is None


def test_holdings_give_one_version_per_document_sorted_by_type() -> None:
    birth = "001204012345.KQ001193"
    licence = "001204012345.GPLX"
    id_card = "001204012345.CCCD"
    versions = [
        v(1, doc=birth),
        v(2, doc=birth),
        v(1, doc=licence, type_code="GPLX", valid_until=date(2025, 1, 1)),
        v(1, doc=id_card, type_code="CCCD"),
    ]
    assert holdings(versions, TODAY) == [v(1, doc=id_card, type_code="CCCD"), v(2, doc=birth)]


def test_a_repeat_is_the_same_file_for_the_same_component() -> None:
    stored = v(1, file_sha256="abc", dossier_code="D1", component_code="GKS")
    assert is_repeat(stored, "abc", "D1", "GKS")
    assert not is_repeat(stored, "abd", "D1", "GKS")
    assert not is_repeat(stored, "abc", "D2", "GKS")
    assert not is_repeat(stored, "abc", "D1", "TP2")


def problems(**changes: object) -> list[tuple[str, str]]:
    fields: dict[str, object] = {
        "holder_id_code": "001204012345",
        "holder_kind": HolderKind.PERSON,
        "type_code": "KQ001193",
        "source": Source.SCAN,
        "signed": True,
        "dossier_code": "000.00.00.H56-260302-0001",
        "component_code": "GKS",
    }
    fields.update(changes)
    return digitisation_problems(**fields)  # type: ignore[arg-type]


def test_a_well_formed_digitisation_has_no_problems() -> None:
    assert problems() == []
    assert problems(dossier_code=None, component_code=None) == []
    assert problems(holder_id_code="0101234567-001", holder_kind=HolderKind.ORGANISATION) == []


def test_an_unsigned_scan_may_be_recorded() -> None:
    assert problems(signed=False) == []


@pytest.mark.parametrize("source", [Source.E_RESULT, Source.E_CERTIFIED_COPY])
def test_e_results_and_e_certified_copies_are_signed(source: Source) -> None:
    assert [f for f, _ in problems(source=source, signed=False)] == ["signed"]


def test_every_problem_names_its_field() -> None:
    found = problems(
        holder_id_code="000204012345", type_code="KQ.1", dossier_code="nope", source=Source.E_RESULT, signed=False
    )
    assert [f for f, _ in found] == ["holder_id_code", "type_code", "signed", "dossier_code"]


def test_a_component_needs_its_dossier() -> None:
    assert [f for f, _ in problems(dossier_code=None)] == ["dossier_code"]


def test_an_enterprise_code_given_as_a_person_is_refused() -> None:
    assert [f for f, _ in problems(holder_id_code="0101234567")] == ["holder_id_code"]
