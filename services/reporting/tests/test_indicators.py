"""Each indicator (docs/reporting.md, "Indicators") on hand-built facts, each expectation worked out in a comment.

The window throughout is the official first quarter of 2024: 15/12/2023 – 14/03/2024 (local dates), i.e. the
instants [15/12/2023 00:00, 15/03/2024 00:00) in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.db import session_factory
from services.reporting import models as m
from services.reporting.fold import aggregate_store
from services.reporting.fold import repository as fold_repository
from services.reporting.fold.facts import DossierFact, PaymentTxn
from services.reporting.reports import repository
from services.reporting.reports.definitions import INDICATORS
from services.reporting.reports.indicators import (
    AgencyInfo,
    ProcedureInfo,
    VisitRow,
    evaluate,
    evaluate_all,
    group_facts,
    procedure_members,
)
from services.reporting.reports.periods import calendar_window, official_window
from services.reporting.reports.scope import Scope
from services.reporting.tests.factory import COMMUNE_AGENCY, DISTRICT_AGENCY, PROVINCE_AGENCY, vn

W = official_window("quarter", 2024, 1)
IN = vn(2024, 1, 10)  # inside W
BEFORE = vn(2023, 12, 1)  # before W
AFTER = vn(2024, 3, 20)  # after W
LEVEL = {PROVINCE_AGENCY: "province", DISTRICT_AGENCY: "district", COMMUNE_AGENCY: "commune"}


def fact(code: str, *, agency: str = PROVINCE_AGENCY, received_at: datetime | None = IN, **changes: Any) -> DossierFact:
    """A dossier received at the province level in W, due a week later, still in progress, unless told otherwise."""
    base = DossierFact(
        dossier_code=code,
        received_at=received_at,
        procedure_code="1.001193",
        sector_code="G09-TP03",
        sector_name="Hộ tịch",
        receiving_agency_code=agency,
        receiving_level=LEVEL[agency],
        handling_agency_code=agency,
        handling_level=LEVEL[agency],
        channel="counter",
        initial_due_at=(received_at or IN) + timedelta(days=7),
        due_at=(received_at or IN) + timedelta(days=7),
        all_digitised=True,
        fees_paid_online=True,
    )
    return replace(base, **changes)


def finished(code: str, outcome: str, at: datetime = IN, **changes: Any) -> DossierFact:
    fields: dict[str, Any] = {
        "finished_at": at,
        "closed_at": at,
        "finish_kind": "resolved",
        "decision": "approved",
        "outcome": outcome,
    }
    return fact(code, **{**fields, **changes})


def value(code: str, facts: list[DossierFact], scopes: list[Scope] | None = None, **inputs: Any) -> tuple[Any, ...]:
    r = evaluate(code, group_facts(facts, W, **inputs), scopes or [])
    return (r.numerator, r.denominator, r.value)


class TestTimeliness:
    def test_on_time_and_early_rates(self) -> None:
        facts = [
            finished("A", "early"),
            finished("B", "on_time"),
            finished("C", "late"),
            finished("D", "early", at=BEFORE, received_at=BEFORE - timedelta(days=3)),  # finished before W
            fact("E", withdrawn_at=IN, closed_at=IN),  # withdrawn: left out of timeliness
            fact("F"),  # unfinished
        ]
        # finished in W: A, B, C → 3; early + on time: A, B → 2/3 = 66.67%; early: A → 1/3 = 33.33%
        assert value("on_time_rate", facts) == (2, 3, 66.67)
        assert value("early_rate", facts) == (1, 3, 33.33)

    def test_no_data_is_never_zero(self) -> None:
        # nothing finished in W: the denominator is 0 → no data (value None), not 0% or 100%
        r = evaluate("on_time_rate", group_facts([fact("F")], W))
        assert (r.denominator, r.value, r.no_data) == (0, None, True)
        assert r.as_dict()["no_data"] is True

    def test_late_apology_and_explanation(self) -> None:
        overdue_due = vn(2024, 3, 1)  # due before the end of W and not finished by then → overdue at the end
        facts = [
            finished("C", "late", apologised_at=IN),  # late in W, apologised, not explained
            fact("G", initial_due_at=overdue_due, due_at=overdue_due, explained_at=vn(2024, 3, 2)),  # overdue
            fact("H", initial_due_at=AFTER, due_at=AFTER),  # in progress within its deadline: not late
            finished("I", "on_time", apologised_at=IN),  # an apology on a dossier that was on time does not count
            fact("J", initial_due_at=overdue_due, due_at=overdue_due, apologised_at=AFTER),  # apology after W
        ]
        # late dossiers: C (finished late), G and J (overdue at the end of W) → 3
        # with an apology before the end of W: C → 1/3 = 33.33%; with an explanation: G → 1/3
        assert value("late_apology_rate", facts) == (1, 3, 33.33)
        assert value("late_explained_rate", facts) == (1, 3, 33.33)

    def test_late_apology_in_time(self) -> None:
        # docs/domain.md "Apology": an apology is in time when issued >= 1 working day before the due time in force.
        overdue_due = vn(2024, 3, 1)
        facts = [
            finished("A", "late", apologised_at=IN, apology_in_time=True),  # late, apologised in time
            finished("B", "late", apologised_at=IN, apology_in_time=False),  # late, apologised once already late
            finished("C", "late", apologised_at=IN),  # recorded before the field: counted late, not in time
            fact("D", initial_due_at=overdue_due, due_at=overdue_due, apologised_at=IN, apology_in_time=True),
            finished("E", "on_time", apologised_at=IN, apology_in_time=True),  # not late: in neither count
            finished("F", "late"),  # late without an apology
        ]
        # late: A, B, C, F finished late + D overdue at W's end → 5; with an apology before W's end: A, B, C, D → 4
        assert value("late_apology_rate", facts) == (4, 5, 80.0)
        # of those 4, in time: A, D → 2/4 = 50%
        assert value("late_apology_in_time_rate", facts) == (2, 4, 50.0)

    def test_late_supplement_requests(self) -> None:
        # Decree 61/2018 Art. 19: the first request to supplement is due within 3 working days of the handling step.
        facts = [
            fact("A", pause_started_at=IN, supplement_requests=1, first_request_in_time=True),
            fact("B", pause_started_at=IN, supplement_requests=1, first_request_in_time=False),
            fact("C", pause_started_at=IN, supplement_requests=1),  # recorded before the field: left out
            fact("D", pause_started_at=AFTER, supplement_requests=1, first_request_in_time=False),  # after W
            fact("E", agency=DISTRICT_AGENCY, pause_started_at=IN, supplement_requests=1, first_request_in_time=False),
        ]
        # requests in W with a known timing: A, B, E → 3; late: B, E → 2/3 = 66.67%
        assert value("late_supplement_request_rate", facts) == (2, 3, 66.67)
        # per agency: the province's desk A, B → 1/2; the district's E → 1/1
        province = Scope(agencies=frozenset({PROVINCE_AGENCY}))
        assert value("late_supplement_request_rate", facts, [province]) == (1, 2, 50.0)
        assert value("late_supplement_request_rate", facts, [Scope(agencies=frozenset({DISTRICT_AGENCY}))]) == (
            1,
            1,
            100.0,
        )


class TestIntake:
    def test_online_intake_rate(self) -> None:
        facts = [
            fact("A", channel="online"),
            fact("B", channel="counter"),
            fact("C", channel="postal"),
            fact("D", channel="online", received_at=BEFORE),  # received before W
        ]
        # received in W: A, B, C → 3; online: A → 33.33%
        assert value("online_intake_rate", facts) == (1, 3, 33.33)

    def test_fully_online_rate(self) -> None:
        facts = [fact("A", channel="online", fully_online=True), fact("B", channel="online"), fact("C")]
        # received 3; fully online (online + all electronic + paid online + e-returned, folded): A → 33.33%
        assert value("fully_online_rate", facts) == (1, 3, 33.33)

    def test_postal_rate(self) -> None:
        facts = [fact("A", channel="postal", postal=True), fact("B", postal=True), fact("C"), fact("D")]
        # received 4; received or returned by post: A, B → 50%
        assert value("postal_rate", facts) == (2, 4, 50.0)

    def test_remote_online_rate(self) -> None:
        facts = [
            fact("A", channel="online", remote_online=True),
            fact("B", channel="online", keyed_in_at_desk=True),  # keyed in at the desk for the applicant
            fact("C"),
            fact("D"),
        ]
        # received 4 (the denominator is every dossier received); remote online: A → 25%
        assert value("remote_online_rate", facts) == (1, 4, 25.0)

    def test_identified_online_rate(self) -> None:
        facts = [fact("A", channel="online", identified=True), fact("B", channel="online"), fact("C", identified=True)]
        # online dossiers: A, B → 2; identified by VNeID: A → 50% (C is not online: outside both)
        assert value("identified_online_rate", facts) == (1, 2, 50.0)

    def test_digitised_intake_rate(self) -> None:
        facts = [fact("A"), fact("B", all_digitised=False), fact("C", all_digitised=False), fact("D")]
        # received 4; all must-digitise components digitised: A, D → 50%
        assert value("digitised_intake_rate", facts) == (2, 4, 50.0)

    def test_reuse_rate(self) -> None:
        facts = [fact("A", reused=True), fact("B"), fact("C"), fact("D", reused=True, received_at=AFTER)]
        # received in W: A, B, C → 3; re-used a stored document: A → 33.33%
        assert value("reuse_rate", facts) == (1, 3, 33.33)

    def test_electronic_transfer_rate(self) -> None:
        facts = [
            fact("A", inter_agency_transfers=2, all_transfers_electronic=True),
            fact("B", inter_agency_transfers=1, paper_transfers=1),
            fact("C"),  # never transferred between agencies: outside both
        ]
        # with an inter-agency transfer: A, B → 2; all electronic: A → 50%
        assert value("electronic_transfer_rate", facts) == (1, 2, 50.0)


class TestResults:
    def test_e_result_rate(self) -> None:
        facts = [
            finished("A", "early", e_result=True),
            finished("B", "early"),
            fact("C", finished_at=IN, closed_at=IN, finish_kind="refused", outcome="early"),  # no result issued
        ]
        # finished with a result: A, B → 2; electronic: A → 50%
        assert value("e_result_rate", facts) == (1, 2, 50.0)

    def test_procedure_e_result_rate(self) -> None:
        facts = [
            finished("A", "early", e_result=True, procedure_code="1.000001"),
            finished("B", "early", e_result=True, procedure_code="1.000001"),
            finished("C", "early", e_result=True, procedure_code="1.000002"),
            finished("D", "early", e_result=False, procedure_code="1.000002"),
            fact("E", procedure_code="1.000003"),  # no result in W
        ]
        # procedures with a result: 1.000001, 1.000002 → 2; all results electronic: 1.000001 → 50%
        assert value("procedure_e_result_rate", facts) == (1, 2, 50.0)
        assert procedure_members("procedure_e_result_rate", group_facts(facts, W)) == (
            ["1.000001"],
            ["1.000001", "1.000002"],
        )

    def test_e_certified_copy_rate(self) -> None:
        facts = [
            finished("A", "early", certification=True, e_result=True),
            finished("B", "early", certification=True),
            finished("C", "early", certification=True),
            finished("D", "early", certification=True, decision="denied", e_result=True),  # no copy issued
            finished("E", "early", e_result=True),  # not a certification procedure
        ]
        # certified copies issued: A, B, C → 3; electronic: A → 33.33%
        assert value("e_certified_copy_rate", facts) == (1, 3, 33.33)


def pay(
    pid: str, code: str, channel: str, at: datetime = IN, succeeded: bool = True, procedure: str = "1.001193"
) -> PaymentTxn:
    return PaymentTxn(pid, code, procedure, 10_000, channel, "succeeded" if succeeded else "failed", succeeded, at)


class TestPayments:
    def test_online_payment_txn_rate(self) -> None:
        facts = [
            fact("A", fee_payable=True, payments=(pay("p1", "A", "online"), pay("p2", "A", "counter"))),
            fact("B", fee_payable=True, payments=(pay("p3", "B", "online"), pay("p4", "B", "online", succeeded=False))),
            fact("C", fee_payable=True, payments=(pay("p5", "C", "online", at=AFTER),)),
        ]
        # successful transactions in W: p1, p2, p3 → 3 (p4 failed, p5 after W); online: p1, p3 → 66.67%
        assert value("online_payment_txn_rate", facts) == (2, 3, 66.67)

    def test_online_payment_procedure_rate(self) -> None:
        facts = [
            fact(
                "A",
                procedure_code="1.000001",
                fee_payable=True,
                payments=(pay("p1", "A", "online", procedure="1.000001"),),
            ),
            fact(
                "B",
                procedure_code="1.000002",
                fee_payable=True,
                payments=(pay("p2", "B", "counter", procedure="1.000002"),),
            ),
            fact("C", procedure_code="1.000003"),  # no fee: outside both
            fact(
                "D",
                procedure_code="1.000004",
                fee_payable=True,
                received_at=BEFORE,
                payments=(pay("p3", "D", "online", procedure="1.000004"),),
            ),  # no dossier received in W
        ]
        # fee procedures with dossiers in W: 1.000001, 1.000002 → 2; paid online in W: 1.000001 → 50%
        assert value("online_payment_procedure_rate", facts) == (1, 2, 50.0)


class TestSatisfaction:
    def test_satisfaction_rate(self) -> None:
        facts = [
            fact("A", rated_at=IN, rating="very_satisfied"),
            fact("B", rated_at=IN, rating="satisfied"),
            fact("C", rated_at=IN, rating="unsatisfied"),
            fact("D", rated_at=IN, rating="unsatisfied"),
            fact("E", rated_at=AFTER, rating="unsatisfied"),  # rated after W
            fact("F"),  # not rated
        ]
        # ratings in W: A, B, C, D → 4; satisfied or very satisfied: A, B → 50%
        assert value("satisfaction_rate", facts) == (2, 4, 50.0)

    def test_sector_group_scope(self) -> None:
        land: dict[str, Any] = {"sector_code": "G09-TN01", "sector_name": "Đất đai"}
        facts = [
            fact("A", rated_at=IN, rating="satisfied", **land),
            fact("B", rated_at=IN, rating="unsatisfied", **land),
            fact("C", rated_at=IN, rating="satisfied"),
        ]
        group = Scope.from_mapping({"sector_names": ["đất đai", "xây dựng", "đầu tư"]})
        others = Scope.from_mapping({"exclude_sector_names": ["đất đai", "xây dựng", "đầu tư"]})
        # land, construction, investment: A, B → 1/2 = 50%; every other sector: C → 100%; all: 2/3 = 66.67%
        assert value("satisfaction_rate", facts, [group]) == (1, 2, 50.0)
        assert value("satisfaction_rate", facts, [others]) == (1, 1, 100.0)
        assert value("satisfaction_rate", facts) == (2, 3, 66.67)


class TestDesk:
    def test_avg_wait_minutes(self) -> None:
        visits = [
            VisitRow("t1", PROVINCE_AGENCY, "province", IN, 10 * 60),
            VisitRow("t2", PROVINCE_AGENCY, "province", IN, 25 * 60),
            VisitRow("t3", DISTRICT_AGENCY, "district", IN, 40 * 60),
            VisitRow("t4", PROVINCE_AGENCY, "province", AFTER, 90 * 60),  # served after W
        ]
        # visits in W: t1, t2, t3 → 3; minutes waited 10 + 25 + 40 = 75 → 25 minutes per visit
        assert value("avg_wait_minutes", [], visits=visits) == (75, 3, 25.0)
        # province level only: (10 + 25) / 2 = 17.5
        province = [Scope(levels=frozenset({"province"}))]
        assert value("avg_wait_minutes", [], province, visits=visits) == (35, 2, 17.5)

    def test_staff_productivity_scaled_to_a_year(self) -> None:
        agencies = {
            PROVINCE_AGENCY: AgencyInfo(PROVINCE_AGENCY, level="province", desk_officers=2),
            DISTRICT_AGENCY: AgencyInfo(DISTRICT_AGENCY, level="district", area_kind="rural", desk_officers=1),
        }
        facts = [fact(f"P{i}") for i in range(91)] + [fact(f"D{i}", agency=DISTRICT_AGENCY) for i in range(30)]
        # province: 91 dossiers in a 91-day quarter (15/12/2023–14/03/2024: 17 + 31 + 29 + 14 = 91 days) by 2
        # officers; the official year 2024 has 366 days, so 91 / 2 × 366 / 91 = 183 dossiers per officer per year
        province = Scope(levels=frozenset({"province"}))
        assert value("staff_productivity", facts, [province], agencies=agencies) == (91, 2, 183.0)
        # rural areas: 30 dossiers by 1 officer → 30 × 366 / 91 = 120.66 per year
        rural = Scope(area_kinds=frozenset({"rural"}))
        assert value("staff_productivity", facts, [rural], agencies=agencies) == (30, 1, 120.66)


class TestCatalogue:
    CATALOGUE: ClassVar[list[ProcedureInfo]] = [
        ProcedureInfo("1.000001", 1, online_level="full", in_force_from=date(2020, 1, 1)),
        ProcedureInfo("1.000002", 1, online_level="partial", in_force_from=date(2020, 1, 1)),
        ProcedureInfo("1.000003", 1, online_level="none", in_force_from=date(2020, 1, 1)),
        ProcedureInfo("1.000004", 1, online_level="full", public=False, in_force_from=date(2020, 1, 1)),
        # version 2 of 1.000003 comes into force after W: version 1 (offline) is what counts at W's end
        ProcedureInfo("1.000003", 2, online_level="full", in_force_from=date(2024, 4, 1)),
        ProcedureInfo(
            "1.000005", 1, online_level="full", in_force_from=date(2020, 1, 1), withdrawn_on=date(2024, 1, 1)
        ),  # withdrawn before W's end
    ]

    def test_published_rate(self) -> None:
        # in force on 14/03/2024: 1.000001–1.000004 → 4; public: all but 1.000004 → 75%
        assert value("published_rate", [], catalogue=self.CATALOGUE) == (3, 4, 75.0)

    def test_online_payment_enabled_rate(self) -> None:
        # in force with a fee on 14/03/2024: 1.000001, 1.000002, 1.000003 v1 → 3 (1.000003 v2 not yet in force,
        # 1.000005 withdrawn, 1.000004 has no fee); payable online (FeeItem.payable_online): 1.000001 → 1/3
        catalogue = [
            ProcedureInfo("1.000001", 1, has_fees=True, fees_payable_online=True, in_force_from=date(2020, 1, 1)),
            ProcedureInfo("1.000002", 1, has_fees=True, in_force_from=date(2020, 1, 1)),
            ProcedureInfo("1.000003", 1, has_fees=True, in_force_from=date(2020, 1, 1)),
            ProcedureInfo("1.000003", 2, has_fees=True, fees_payable_online=True, in_force_from=date(2024, 4, 1)),
            ProcedureInfo("1.000004", 1, in_force_from=date(2020, 1, 1)),
            ProcedureInfo(
                "1.000005",
                1,
                has_fees=True,
                fees_payable_online=True,
                in_force_from=date(2020, 1, 1),
                withdrawn_on=date(2024, 1, 1),
            ),
        ]
        assert value("online_payment_enabled_rate", [], catalogue=catalogue) == (1, 3, 33.33)

    @pytest.mark.parametrize("code", ["digitised_valid_results_rate", "desk_evaluation_rate", "portal_sync_rate"])
    def test_indicators_without_events_answer_no_data(self, code: str) -> None:
        # docs/reporting.md: the events these need do not exist yet; the answer is "no data", never a guess
        r = evaluate(code, group_facts([fact("A"), finished("B", "late")], W, catalogue=self.CATALOGUE))
        assert r.numerator == 0 and r.denominator == 0
        assert r.value is None and r.no_data

    def test_online_service_coverage(self) -> None:
        # published (in force and public): 1.000001, 1.000002, 1.000003 → 3; full or partial online: 2 → 66.67%
        assert value("online_service_coverage", [], catalogue=self.CATALOGUE) == (2, 3, 66.67)


class TestScopes:
    def test_level_and_agency(self) -> None:
        facts = [
            fact("A", channel="online"),
            fact("B", agency=DISTRICT_AGENCY),
            fact("C", agency=COMMUNE_AGENCY, channel="online"),
        ]
        # district: B only → 0/1 = 0% (a real 0: the denominator is not 0)
        assert value("online_intake_rate", facts, [Scope(levels=frozenset({"district"}))]) == (0, 1, 0.0)
        assert value("online_intake_rate", facts, [Scope(agencies=frozenset({COMMUNE_AGENCY}))]) == (1, 1, 100.0)
        assert value("online_intake_rate", facts) == (2, 3, 66.67)


# ---------------------------------------------------------------------------------------------- SQL == Python


def random_facts(n: int, seed: int = 11) -> list[DossierFact]:
    rng = random.Random(seed)
    start = vn(2023, 10, 1)
    agencies = [PROVINCE_AGENCY, DISTRICT_AGENCY, COMMUNE_AGENCY]
    sectors = [("G09-TP03", "Hộ tịch"), ("G09-TN01", "Đất đai"), ("G09-XD01", "Xây dựng")]
    out = []
    for i in range(n):
        received = start + timedelta(hours=rng.randrange(0, 24 * 300))
        due = received + timedelta(days=rng.randrange(1, 15))
        sector_code, sector_name = rng.choice(sectors)
        kw: dict[str, Any] = {
            "sector_code": sector_code,
            "sector_name": sector_name,
            "procedure_code": rng.choice(["1.000001", "1.000002", "1.000003"]),
            "channel": rng.choice(["counter", "online", "postal"]),
            "initial_due_at": due,
            "due_at": due,
            "identified": rng.random() < 0.5,
            "remote_online": rng.random() < 0.3,
            "postal": rng.random() < 0.2,
            "all_digitised": rng.random() < 0.6,
            "reused": rng.random() < 0.3,
            "fully_online": rng.random() < 0.2,
            "fee_payable": rng.random() < 0.5,
            "certification": rng.random() < 0.2,
        }
        if rng.random() < 0.3:
            kw.update(inter_agency_transfers=1, all_transfers_electronic=rng.random() < 0.5)
        if rng.random() < 0.3:
            pause = received + timedelta(days=1)
            kw.update(pause_started_at=pause, supplement_requests=1)
            if rng.random() < 0.7:
                kw.update(
                    pause_ended_at=pause + timedelta(days=2),
                    due_after_pause=due + timedelta(days=2),
                    due_at=due + timedelta(days=2),
                )
            if rng.random() < 0.2:
                kw.update(second_request_at=pause + timedelta(days=3), supplement_requests=2)
        roll = rng.random()
        if roll < 0.7:
            done = received + timedelta(days=rng.randrange(0, 20))
            kw.update(
                finished_at=done,
                closed_at=done,
                finish_kind=rng.choice(["resolved", "resolved", "refused"]),
                decision=rng.choice(["approved", "denied"]),
                outcome=rng.choice(["early", "on_time", "late"]),
                e_result=rng.random() < 0.6,
            )
            if rng.random() < 0.4:
                kw.update(
                    rated_at=done + timedelta(days=1), rating=rng.choice(["very_satisfied", "satisfied", "unsatisfied"])
                )
        elif roll < 0.8:
            gone = received + timedelta(days=2)
            kw.update(withdrawn_at=gone, closed_at=gone)
        if rng.random() < 0.2:
            kw.update(
                apologised_at=received + timedelta(days=rng.randrange(1, 10)),
                apology_in_time=rng.choice([True, False, None]),
            )
        if kw.get("pause_started_at") is not None:
            kw.update(first_request_in_time=rng.choice([True, False, None]))
        if rng.random() < 0.2:
            kw.update(explained_at=received + timedelta(days=rng.randrange(1, 10)))
        code = f"D{i:05d}"
        payments = tuple(
            PaymentTxn(
                f"{code}-p{j}",
                code,
                kw["procedure_code"],
                1000,
                rng.choice(["online", "counter"]),
                "succeeded",
                rng.random() < 0.8,
                received + timedelta(hours=j + 1),
            )
            for j in range(rng.randrange(0, 3))
        )
        out.append(fact(code, agency=rng.choice(agencies), received_at=received, payments=payments, **kw))
    return out


AGENCIES = {
    PROVINCE_AGENCY: AgencyInfo(PROVINCE_AGENCY, "Sở Tư pháp", "province", None, 4),
    DISTRICT_AGENCY: AgencyInfo(DISTRICT_AGENCY, "UBND huyện", "district", "rural", 3),
    COMMUNE_AGENCY: AgencyInfo(COMMUNE_AGENCY, "UBND xã", "commune", "remote", 1),
}
CATALOGUE = TestCatalogue.CATALOGUE


async def store(engine: AsyncEngine, facts: list[DossierFact], visits: list[VisitRow]) -> None:
    async with session_factory(engine)() as session, session.begin():
        await fold_repository.upsert_facts(session, facts)
        await aggregate_store.recount(session)  # facts written past the fold: their day aggregates counted from them
        await session.execute(
            insert(m.Agency),
            [
                {
                    "code": a.code,
                    "name": a.name,
                    "level": a.level,
                    "area_kind": a.area_kind,
                    "desk_officers": a.desk_officers,
                    "procedure_codes": [],
                    "as_of": IN,
                }
                for a in AGENCIES.values()
            ],
        )
        await session.execute(
            insert(m.WaitVisit),
            [
                {
                    "ticket_id": v.ticket_id,
                    "agency_code": v.agency_code,
                    "level": v.level,
                    "desk": "Q1",
                    "issued_at": v.served_at,
                    "served_at": v.served_at,
                    "wait_seconds": v.wait_seconds,
                }
                for v in visits
            ],
        )
        await session.execute(
            insert(m.ProcedureState),
            [
                {
                    "code": p.code,
                    "version": p.version,
                    "name": p.code,
                    "levels": [],
                    "agency_codes": [],
                    "online_level": p.online_level,
                    "public": p.public,
                    "has_fees": False,
                    "fees_payable_online": False,
                    "certification": False,
                    "components": 0,
                    "in_force_from": p.in_force_from,
                    "withdrawn_on": p.withdrawn_on,
                    "as_of": IN,
                }
                for p in CATALOGUE
            ],
        )


class TestSqlAgreesWithPython:
    @pytest.mark.asyncio
    async def test_grouped_counts_and_every_indicator(self, engine: AsyncEngine) -> None:
        facts = random_facts(400)
        rng = random.Random(3)
        visits = [
            VisitRow(
                f"t{i}",
                rng.choice(list(AGENCIES)),
                None,
                vn(2023, 12, 1) + timedelta(hours=rng.randrange(2000)),
                rng.randrange(0, 3600),
            )
            for i in range(120)
        ]
        await store(engine, facts, visits)
        scopes = [
            [],
            [Scope(levels=frozenset({"district"}))],
            [Scope(agencies=frozenset({COMMUNE_AGENCY}))],
            [Scope(area_kinds=frozenset({"rural"}))],
            [Scope.from_mapping({"sector_names": ["đất đai", "xây dựng"]})],
            [Scope(levels=frozenset({"province"})), Scope.from_mapping({"exclude_sector_names": ["đất đai"]})],
        ]
        windows = [official_window("quarter", 2024, q) for q in (1, 2)] + [
            official_window("year", 2024),
            calendar_window("month", 2024, 2),
            calendar_window("quarter", 2023, 4),
        ]
        async with session_factory(engine)() as session:
            for w in windows:
                expected = group_facts(facts, w, visits=visits, agencies=AGENCIES, catalogue=CATALOGUE)
                got = await repository.grouped(session, w)
                assert got.comparable() == expected.comparable(), w.label
                for scope in scopes:
                    assert [r.as_dict() for r in evaluate_all(got, scope)] == [
                        r.as_dict() for r in evaluate_all(expected, scope)
                    ], (w.label, scope)
                coarse = await repository.grouped(session, w, by_agency=False)
                for scope in scopes[:2] + scopes[4:]:
                    assert [r.as_dict() for r in evaluate_all(coarse, scope)] == [
                        r.as_dict() for r in evaluate_all(expected, scope)
                    ], (w.label, scope, "by level")
                # the drill-down lists exactly the dossiers a flag counts
                for code in ("on_time_rate", "late_apology_rate", "online_intake_rate"):
                    d = INDICATORS[code]
                    assert d.numerator_flag is not None
                    total, codes = await repository.drill_down(session, w, d.numerator_flag, None, 10_000, None)
                    r = evaluate(code, expected)
                    assert total == len(codes) == r.numerator
                    # pages of two by keyset give the same codes in the same order, each once
                    walked: list[str] = []
                    while page := (
                        await repository.drill_down(
                            session, w, d.numerator_flag, None, 2, walked[-1] if walked else None
                        )
                    )[1]:
                        walked += page
                    assert walked == codes
