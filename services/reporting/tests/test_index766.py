"""The Decision 766 index on hand-built facts (calendar Q1 2024), each expectation worked out in a comment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

import httpx
import pytest

from libs.common.contract.envelope import Envelope
from libs.common.contract.events import DecisionRef
from libs.common.testing import AUTH
from services.reporting.fold.facts import PaymentTxn
from services.reporting.reports.index766 import index, on_time, score
from services.reporting.reports.indicators import ProcedureInfo, group_facts
from services.reporting.reports.periods import calendar_window
from services.reporting.reports.scope import Scope
from services.reporting.tests.conftest import Feeder
from services.reporting.tests.factory import agency, envelope, procedure, vn
from services.reporting.tests.test_indicators import fact, finished

W = calendar_window("quarter", 2024, 1)
IN = vn(2024, 2, 1)
LEADER = AUTH["leader"]


def test_scoring_rule() -> None:
    # with a threshold: full points at or above it, else rate × points / T; without: rate × points
    assert score(Fraction(9, 10), 4, Fraction(4, 5)) == 4
    assert score(Fraction(1, 2), 4, Fraction(4, 5)) == Fraction(5, 2)
    assert score(Fraction(1, 2), 6, None) == 3
    assert score(None, 6, None) is None


def test_index_on_hand_built_facts() -> None:
    paid = (PaymentTxn("p1", "A", "1.001193", 8000, "online", "succeeded", True, IN),)
    facts = [
        finished(
            "A",
            "early",
            at=IN,
            received_at=IN,
            channel="online",
            online_level="full",
            fully_online=True,
            fee_payable=True,
            paid_online=True,
            e_result=True,
            all_digitised=True,
            reused=True,
            identified=True,
            payments=paid,
            synced_to_portal_at=IN,
        ),
        finished(
            "B",
            "late",
            at=IN,
            received_at=IN,
            channel="online",
            online_level="full",
            fee_payable=True,
            all_digitised=False,
            reused=True,
        ),
        fact(  # within its deadline; synchronised after the quarter: still counts (the portal has it)
            "C",
            received_at=IN,
            initial_due_at=vn(2024, 4, 10),
            due_at=vn(2024, 4, 10),
            synced_to_portal_at=vn(2024, 4, 2),
        ),
        fact("D", received_at=IN, initial_due_at=vn(2024, 2, 5), due_at=vn(2024, 2, 5)),  # overdue at the end
    ]
    result = index(group_facts(facts, W))
    criteria = {c["criterion"]: c for g in result["groups"] for c in g["criteria"]}
    # progress: processed = finished A, B + in progress C, D = 4; in time: A (early) + C (within) = 2 → 50% × 20 = 10
    assert (criteria["in_time"]["numerator"], criteria["in_time"]["denominator"], criteria["in_time"]["score"]) == (
        2,
        4,
        10.0,
    )
    # fully online among dossiers of fully-online procedures: A of A, B → 50% ≥ T 50% → all 12 points
    assert criteria["fully_online"]["score"] == 12.0
    # fee procedures with an online payment: 1.001193 → 1/1 = 100% ≥ 80% → 2; dossiers paid online: 1/2 × 6 = 3
    assert criteria["paid_online_procedures"]["score"] == 2.0
    assert criteria["paid_online_dossiers"]["score"] == 3.0
    # electronic results: A of A, B → 50% × 6 = 3; digitised and electronic: A → 50% < 80% → 0.5 × 4 / 0.8 = 2.5
    assert (criteria["e_result"]["score"], criteria["digitised_e_result"]["score"]) == (3.0, 2.5)
    # re-use: A, B of 4 received → 50% < 80% → 0.5 × 2 / 0.8 = 1.25; VNeID among online: A of A, B → 50% × 2 = 1
    assert (criteria["reuse"]["score"], criteria["population_identity"]["score"]) == (1.25, 1.0)
    # no certified copy and no catalogue: no data, no points
    assert criteria["e_certified_copy"]["no_data"] and criteria["payable_online_procedures"]["no_data"]
    # inputs the events cannot supply say so
    # synchronised to the national portal: A and C of 4 received → 50% × 6 = 3 (no threshold)
    synced = criteria["synced_dossiers"]
    assert (synced["available"], synced["numerator"], synced["denominator"], synced["score"]) == (True, 2, 4, 3.0)
    assert criteria["late_and_complaints"]["partial"] == {"late": 1, "finished": 2, "late_rate": 50.0}
    # total 3 + 10 + 12 + 2 + 3 + 3 + 2.5 + 1.25 + 1 = 37.75 over 6 + 20 + 12 + 2 + 6 + 6 + 4 + 2 + 2 = 60 points
    assert (result["total"], result["assessed_points"]) == (37.75, 60)
    assert result["total_over_assessed"] == round(37.75 * 100 / 60, 2)


# ------------------------------------------------------------------- transparency from the catalogue's facts

Q1_END = date(2024, 3, 31)


def transparency_catalogue() -> list[ProcedureInfo]:
    """Versions in force on 31/03/2024 (except P5), handled by A1 (P1, P2) and A2 (P3, P4)."""
    start = date(2020, 1, 1)
    return [
        # signed 02/01 by its due day 05/01 → on time; public 08/01, due 09/01 → on time; all seven components
        ProcedureInfo(
            "1.000001", 1, agency_codes=("A1",), in_force_from=start, decision_signed_on=date(2024, 1, 2),
            publication_due_on=date(2024, 1, 5), national_db_due_on=date(2024, 1, 9),
            public_in_national_db_on=date(2024, 1, 8), components_complete=True,
        ),
        # signed 10/02 after its due day 01/02 → late; not public, due 16/02 long passed → late; incomplete
        ProcedureInfo(
            "1.000002", 1, agency_codes=("A1",), in_force_from=start, decision_signed_on=date(2024, 2, 10),
            publication_due_on=date(2024, 2, 1), national_db_due_on=date(2024, 2, 16), components_complete=False,
        ),
        # signed 20/03 by 28/03 → on time; not public, due 27/03: late on 31/03, not judged yet on 26/03; complete
        ProcedureInfo(
            "1.000003", 1, agency_codes=("A2",), in_force_from=start, decision_signed_on=date(2024, 3, 20),
            publication_due_on=date(2024, 3, 28), national_db_due_on=date(2024, 3, 27), components_complete=True,
        ),
        # folded from an event published before the catalogue computed these facts: no data for all three
        ProcedureInfo("1.000004", 1, agency_codes=("A2",), in_force_from=start, decision_signed_on=start),
        # withdrawn before the quarter ended: not in force on 31/03, so not counted although on time everywhere
        ProcedureInfo(
            "1.000005", 1, agency_codes=("A1",), in_force_from=start, withdrawn_on=date(2024, 3, 1),
            decision_signed_on=date(2024, 1, 2), publication_due_on=date(2024, 1, 5),
            national_db_due_on=date(2024, 1, 9), public_in_national_db_on=date(2024, 1, 8), components_complete=True,
        ),
    ]  # fmt: skip


def transparency_criteria(scopes: list[Scope], as_of: date | None = None) -> dict[str, dict[str, Any]]:
    g = group_facts([], W, catalogue=transparency_catalogue())
    result = index(g, scopes, as_of)
    return {c["criterion"]: c for c in result["groups"][0]["criteria"]}


def figures(c: dict[str, Any]) -> tuple[Any, ...]:
    return c["numerator"], c["denominator"], c["rate"], c["score"]


class TestTransparency:
    def test_province(self) -> None:
        c = transparency_criteria([])
        # published on time: P1, P3 of P1, P2, P3 (P4 has no due day) → 2/3 = 66.67% × 6 points = 4
        assert figures(c["published_on_time"]) == (2, 3, 66.67, 4.0)
        # public in the national database on time on 31/03: P1 of P1, P2, P3 → 1/3 × 4 = 1.33
        assert figures(c["public_on_time"]) == (1, 3, 33.33, 1.33)
        # all seven components: P1, P3 of P1, P2, P3 (P4 unchecked) → 2/3 × 2 = 1.33
        assert figures(c["complete_procedures"]) == (2, 3, 66.67, 1.33)
        for code in ("published_on_time", "public_on_time", "complete_procedures"):
            assert c[code]["available"] and c[code]["formula"] and c[code]["source"].startswith("catalogue")

    def test_per_agency(self) -> None:
        a1 = transparency_criteria([Scope(agencies=frozenset({"A1"}))])
        # A1 (P1, P2; P5 withdrawn): 1/2 on each → 3, 2 and 1 points
        assert [figures(a1[k]) for k in ("published_on_time", "public_on_time", "complete_procedures")] == [
            (1, 2, 50.0, 3.0),
            (1, 2, 50.0, 2.0),
            (1, 2, 50.0, 1.0),
        ]
        a2 = transparency_criteria([Scope(agencies=frozenset({"A2"}))])
        # A2 (P3, P4): published 1/1 → 6; public P3 late → 0/1 → 0 points (assessed); complete 1/1 → 2
        assert [figures(a2[k]) for k in ("published_on_time", "public_on_time", "complete_procedures")] == [
            (1, 1, 100.0, 6.0),
            (0, 1, 0.0, 0.0),
            (1, 1, 100.0, 2.0),
        ]

    def test_a_duty_not_yet_due_is_not_judged(self) -> None:
        # judged on 26/03 (the running quarter's today): P3's due day 27/03 has not passed → left out, 1/2 → 2 points
        assert figures(transparency_criteria([], date(2024, 3, 26))["public_on_time"]) == (1, 2, 50.0, 2.0)
        a2 = transparency_criteria([Scope(agencies=frozenset({"A2"}))], date(2024, 3, 26))["public_on_time"]
        assert a2["no_data"] and a2["score"] is None
        # a later day never judges beyond the period's end
        assert figures(transparency_criteria([], date(2026, 1, 1))["public_on_time"]) == (1, 3, 33.33, 1.33)

    def test_unknown_facts_are_no_data(self) -> None:
        g = group_facts([], W, catalogue=[transparency_catalogue()[3]])
        criteria = {c["criterion"]: c for c in index(g)["groups"][0]["criteria"]}
        for code in ("published_on_time", "public_on_time", "complete_procedures"):
            assert criteria[code]["no_data"] and criteria[code]["score"] is None

    def test_verdicts(self) -> None:
        assert on_time(date(2024, 1, 5), date(2024, 1, 5), Q1_END) is True  # on the due day itself
        assert on_time(date(2024, 1, 6), date(2024, 1, 5), Q1_END) is False
        assert on_time(None, date(2024, 1, 5), date(2024, 1, 5)) is None  # the due day is not over yet
        assert on_time(None, date(2024, 1, 5), date(2024, 1, 6)) is False
        assert on_time(date(2024, 1, 1), None, Q1_END) is None


def published(code: str, agency: str, recorded_at: datetime, **facts: Any) -> Envelope:
    """``procedure(code)`` handled by ``agency``, with the catalogue's transparency facts when given."""
    event = procedure(code)
    snapshot = event.procedure.model_copy(update={"agency_codes": [agency], **facts})
    return envelope(event.model_copy(update={"procedure": snapshot}), recorded_at)


@pytest.mark.asyncio
class TestIndex766Api:
    async def test_transparency_from_the_fold(self, feeder: Feeder, client: httpx.AsyncClient) -> None:
        t0 = datetime(2024, 1, 1, tzinfo=UTC)
        await feeder.feed(
            [
                envelope(agency("A1", "province"), t0),
                # published before the catalogue computed the facts, then amended (same version) with them
                published("1.000001", "A1", t0),
                published(
                    "1.000001", "A1", t0 + timedelta(days=10), decision=DecisionRef(
                        number="1/QĐ-UBND", signed_on=date(2019, 12, 1), effective_on=date(2020, 1, 1)
                    ), publication_due_on=date(2019, 12, 2), national_db_due_on=date(2019, 12, 6),
                    public_in_national_db_on=date(2019, 12, 9), components_complete=True,
                ),
                # only ever published without them: no data, not counted
                published("1.000002", "A1", t0),
            ]
        )  # fmt: skip
        response = await client.get(
            "/reports/index-766", params={"year": 2024, "quarter": 1, "by_agency": True}, headers=LEADER
        )
        assert response.status_code == 200
        body = response.json()
        assert [s["key"] for s in body["sections"]] == ["province", "agency:A1"]
        for section in body["sections"]:
            criteria = {c["criterion"]: c for c in section["groups"][0]["criteria"]}
            # 1.000001 signed 01/12/2019 by its due day 02/12 → 1/1 × 6; public 09/12 after its due day 06/12 → 0/1
            # × 4 = 0; seven components → 1/1 × 2. 1.000002 carries none of the facts and is in no denominator.
            assert figures(criteria["published_on_time"]) == (1, 1, 100.0, 6.0)
            assert figures(criteria["public_on_time"]) == (0, 1, 0.0, 0.0)
            assert figures(criteria["complete_procedures"]) == (1, 1, 100.0, 2.0)
            assert "publication_due_on" in criteria["published_on_time"]["source"]
            transparency = section["groups"][0]
            # synced dossiers: no dossier → no data; so 6 + 0 + 2 = 8 over the 6 + 4 + 2 = 12 points assessed
            assert (transparency["score"], transparency["assessed_points"]) == (8.0, 12)

    async def test_bad_period_is_problem_json(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/reports/index-766", params={"year": 2024, "quarter": 5}, headers=LEADER)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
