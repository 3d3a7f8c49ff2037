"""The Decision 766 index on hand-built facts (calendar Q1 2024), each expectation worked out in a comment."""

from __future__ import annotations

from fractions import Fraction

from services.reporting.fold.facts import PaymentTxn
from services.reporting.reports.index766 import index, score
from services.reporting.reports.indicators import group_facts
from services.reporting.reports.periods import calendar_window
from services.reporting.tests.factory import vn
from services.reporting.tests.test_indicators import fact, finished

W = calendar_window("quarter", 2024, 1)
IN = vn(2024, 2, 1)


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
