"""Reporting's timeliness against the shared case table (libs/common/tests/timeliness_cases.py), so that "overdue"
and "late" mean what intake and the contract mean: the fold's outcome, the fact adapter ``overdue_at`` and its SQL
twin on SQLite and PostgreSQL; and the catalogue's "version in force" rule."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.contract.events import OnlineLevel, ProcedureAmended, ProcedureWithdrawn
from libs.common.contract.timeliness import Outcome
from libs.common.db import session_factory
from libs.common.tests.timeliness_cases import OUTCOME_CASES, OVERDUE_CASES, OutcomeCase, OverdueCase
from services.reporting.fold.facts import DossierFact, fold_dossier, overdue_at
from services.reporting.fold.ledger import LedgerEvent
from services.reporting.models import fact_t
from services.reporting.reports import sql
from services.reporting.reports.indicators import ProcedureInfo, catalogue_in_force
from services.reporting.reports.periods import official_window
from services.reporting.reports.scope import Scope
from services.reporting.reports.service import indicator_results
from services.reporting.tests.conftest import Feeder
from services.reporting.tests.factory import Dossier, envelope, procedure


def case_dossier(code: str, case: OverdueCase) -> Dossier:
    """The case's history as events: the receipt, then each request to supplement and the supplement if it came."""
    d = Dossier(code, received_at=case.received_at, due_at=case.due_at)
    for sequence, pause in enumerate(case.pauses, start=1):
        d.supplement(sequence, pause.requested_at, pause.resumed_at, pause.due_after)
    return d


def fold(d: Dossier) -> DossierFact:
    return fold_dossier(d.code, [LedgerEvent(e.id, e.name, e.time, e.data) for e in d.envelopes()])


def code_of(i: int) -> str:
    return f"000.00.15.H56-260302-{i:04d}"


class TestOverdue:
    @pytest.mark.parametrize("case", OVERDUE_CASES, ids=lambda c: c.name)
    def test_the_fact_adapter(self, case: OverdueCase) -> None:
        # the whole history is folded: the adapter must see only what had happened by the instant judged
        assert overdue_at(fold(case_dossier(code_of(0), case)), case.at) is case.expected

    @pytest.mark.asyncio
    async def test_the_sql_twin(self, engine: AsyncEngine, feeder: Feeder) -> None:
        envelopes = []
        for i, case in enumerate(OVERDUE_CASES):
            envelopes.extend(case_dossier(code_of(i), case).envelopes())
        await feeder.feed(envelopes)
        async with session_factory(engine)() as session:
            for i, case in enumerate(OVERDUE_CASES):
                query = select(sql.overdue_at(fact_t, case.at)).where(fact_t.c.dossier_code == code_of(i))
                assert bool((await session.execute(query)).scalar_one()) is case.expected, case.name


class TestOutcome:
    @pytest.mark.parametrize("case", OUTCOME_CASES, ids=lambda c: c.name)
    def test_judged_for_an_event_without_the_field(self, case: OutcomeCase) -> None:
        d = self.dossier(case)
        d.resolve(case.finished_at, due_at=case.due_at)
        assert fold(d).outcome == case.expected.value

    def test_the_published_outcome_wins(self) -> None:
        # intake is the owner of the verdict: reporting takes it as published, even where its own reading of the
        # fields would differ (here: finished after the due time, published as on time)
        case = OUTCOME_CASES[3]
        assert case.expected is Outcome.LATE
        d = self.dossier(case)
        d.resolve(case.finished_at, due_at=case.due_at)
        resolved = d.events[-1].model_copy(update={"outcome": Outcome.ON_TIME})
        d.events[-1] = resolved
        assert fold(d).outcome == "on_time"

    @staticmethod
    def dossier(case: OutcomeCase) -> Dossier:
        received = datetime.fromisoformat("2026-03-02T08:00:00+07:00")
        d = Dossier(code_of(0), received_at=received, due_at=case.due_at)
        for sequence in range(1, case.supplement_requests + 1):
            d.supplement(sequence, received.replace(hour=9 + sequence))
        return d


def version(code: str, v: int, start: date, until: date | None = None, withdrawn: date | None = None) -> ProcedureInfo:
    return ProcedureInfo(code, v, in_force_from=start, in_force_until=until, withdrawn_on=withdrawn)


class TestVersionInForce:
    """The catalogue's rule (it owns what is in force): the newest version that had started, if its span covers
    the day and the procedure was not withdrawn by then."""

    DAY = date(2024, 3, 14)

    def codes(self, *versions: ProcedureInfo) -> list[tuple[str, int]]:
        return [(p.code, p.version) for p in catalogue_in_force(versions, self.DAY)]

    def test_a_version_amended_later_counts_until_the_amendment(self) -> None:
        v1 = version("A", 1, date(2020, 1, 1), until=date(2024, 3, 31))
        v2 = version("A", 2, date(2024, 4, 1))
        assert self.codes(v1, v2) == [("A", 1)]

    def test_the_last_day_of_a_span_is_in_force(self) -> None:
        assert self.codes(version("A", 1, date(2020, 1, 1), until=self.DAY)) == [("A", 1)]
        assert self.codes(version("A", 1, date(2020, 1, 1), until=date(2024, 3, 13))) == []

    def test_an_ended_newer_version_does_not_hand_back_to_an_older_one(self) -> None:
        # version 2 started after version 1 and has ended: the procedure is not in force, even though version 1's
        # (open) span would cover the day
        v1 = version("A", 1, date(2020, 1, 1))
        v2 = version("A", 2, date(2023, 1, 1), until=date(2024, 1, 31))
        assert self.codes(v1, v2) == []

    def test_the_latest_start_wins_over_the_highest_number(self) -> None:
        late_start = version("A", 1, date(2024, 1, 1))
        early_start = version("A", 2, date(2022, 1, 1))
        assert self.codes(late_start, early_start) == [("A", 1)]

    def test_withdrawn_on_or_before_the_day_is_out(self) -> None:
        assert self.codes(version("A", 1, date(2020, 1, 1), withdrawn=self.DAY)) == []
        assert self.codes(version("A", 1, date(2020, 1, 1), withdrawn=date(2024, 3, 15))) == [("A", 1)]

    @pytest.mark.asyncio
    async def test_catalogue_indicators_from_the_events(self, engine: AsyncEngine, feeder: Feeder) -> None:
        # Reporting's own figures, folded from the catalogue's events, against counts worked out by hand for the
        # official Q1 2024 (its last day: 14/03/2024).
        amended = procedure("1.000003", version=1, online_level=OnlineLevel.NONE, in_force_until=date(2024, 3, 31))
        events = [
            procedure("1.000001", online_level=OnlineLevel.FULL),
            procedure("1.000002", online_level=OnlineLevel.PARTIAL),
            amended,
            # the amendment comes into force after the quarter: version 1 (offline) is what counts
            ProcedureAmended(
                code="1.000003",
                procedure=amended.procedure.model_copy(
                    update={
                        "version": 2,
                        "online_level": OnlineLevel.FULL,
                        "in_force_from": date(2024, 4, 1),
                        "in_force_until": None,
                    }
                ),
            ),
            procedure("1.000004", public=False),
            # version 2 in force from 2023 ended on 31/01/2024: not in force, though version 1 never ended
            procedure("1.000006", version=1),
            procedure("1.000006", version=2, in_force_from=date(2023, 1, 1), in_force_until=date(2024, 1, 31)),
        ]
        withdrawn = procedure("1.000005")
        events.append(withdrawn)
        events.append(ProcedureWithdrawn(code="1.000005", procedure=withdrawn.procedure, withdrawn_on=date(2024, 1, 1)))
        await feeder.feed([envelope(e) for e in events])
        w = official_window("quarter", 2024, 1)
        async with session_factory(engine)() as session:
            report = await indicator_results(session, w, Scope(), ["published_rate", "online_service_coverage"])
        got = {i["indicator"]: (i["numerator"], i["denominator"]) for i in report["indicators"]}
        # in force: 1.000001, 1.000002, 1.000003 v1, 1.000004 → 4, of which public: all but 1.000004 → 3;
        # of those, offered fully or partly online: 1.000001, 1.000002 → 2
        assert got == {"published_rate": (3, 4), "online_service_coverage": (2, 3)}
