"""Intake's timeliness verdicts against the shared case table (docs/domain.md, "Outcome" and "Overdue").

Reporting runs the same table against its own functions, so "overdue" and "late" mean one thing in both services.
Here each overdue case is built as intake would hold the dossier at the instant judged: in memory for the Python
verdict, and through the API (receipt, requests and supplements at their recorded times) for the SQL filter, on
SQLite and PostgreSQL. Each outcome case goes through a finishing command and is read back from its event.
"""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from libs.common.auth import AgencyScope, Principal, Role
from libs.common.calendar import VN_TZ
from libs.common.contract.timeliness import Outcome
from libs.common.db import create_engine, session_factory
from libs.common.testing import AUTH
from libs.common.tests.timeliness_cases import DUE, OUTCOME_CASES, OVERDUE_CASES, RECEIVED, OverdueCase
from services.intake.domain.lifecycle import Status
from services.intake.dossiers import reads, repository
from services.intake.models import Dossier
from services.intake.tests.support import dossier, events_of, send

STAFF_PRINCIPAL = Principal("test.handler", frozenset({Role.HANDLER}), AgencyScope.province())


def held_at(case: OverdueCase) -> Dossier:
    """The dossier row intake holds at ``case.at``: the due time in force, the wait under way, the requests."""
    due, paused_since, _ = case.state_at(case.at)
    return Dossier(
        code="000.00.00.H56-260302-0001",
        status=(Status.AWAITING_SUPPLEMENT if paused_since else Status.IN_PROGRESS).value,
        due_at=due,
        paused_at=paused_since,
        supplement_requests=len(case.pauses_before(case.at)),
    )


@pytest.mark.parametrize("case", OVERDUE_CASES, ids=lambda c: c.name)
def test_the_overdue_verdict_of_a_dossier_as_intake_holds_it(case: OverdueCase) -> None:
    assert reads.dossier_overdue(held_at(case), case.at) is case.expected


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.RETURNED, Status.REFUSED, Status.STOPPED, Status.WITHDRAWN])
def test_a_closed_dossier_is_never_overdue(status: Status) -> None:
    late = Dossier(status=status.value, due_at=DUE, paused_at=None, supplement_requests=3)
    assert not reads.dossier_overdue(late, datetime(2027, 1, 1, tzinfo=VN_TZ))


def finished(finished_at: datetime, requests: int) -> Dossier:
    return Dossier(status=Status.RESOLVED.value, finished_at=finished_at, due_at=DUE, supplement_requests=requests)


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=VN_TZ)


@pytest.mark.parametrize(
    ("finished_at", "requests", "expected"),
    [
        (vn(4, 23, 59), 0, Outcome.EARLY),  # an earlier calendar date is early, whatever the clock time
        (vn(4, 10), 1, Outcome.EARLY),  # one request to supplement changes nothing by itself
        (vn(5, 8), 3, Outcome.LATE),  # more than one makes it late whatever its result time
        *[(c.finished_at, c.supplement_requests, c.expected) for c in OUTCOME_CASES if c.due_at == DUE],
    ],
)
def test_the_outcome_of_a_finished_dossier(finished_at: datetime, requests: int, expected: Outcome) -> None:
    assert reads.dossier_outcome(finished(finished_at, requests)) is expected


def iso(at: datetime) -> str:
    return at.isoformat()


@pytest.mark.asyncio
async def test_the_overdue_filter_and_job_on_the_database(client: httpx.AsyncClient, intake_url: str) -> None:
    """Every case as a dossier recorded through the API up to its instant, then judged by the SQL filter of
    ``GET /dossiers?overdue=`` and of the overdue job with ``now`` = that instant."""
    codes: dict[str, OverdueCase] = {}
    for case in OVERDUE_CASES:
        response = await client.post("/dossiers", json=dossier(at=iso(case.received_at)), headers=AUTH["desk"])
        assert response.status_code == 201, response.text
        code = response.json()["code"]
        assert datetime.fromisoformat(response.json()["due_at"]) == case.due_at
        for pause in case.pauses_before(case.at):
            assert (await send(client, code, "request_supplement", at=iso(pause.requested_at))).status_code == 200
            if pause.resumed_at is not None:
                resumed = await send(client, code, "receive_supplement", at=iso(pause.resumed_at))
                assert datetime.fromisoformat(resumed.json()["due_at"]) == pause.due_after, case.name
        codes[code] = case
    engine = create_engine(intake_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            for code, case in codes.items():
                held = await repository.get_dossier(session, STAFF_PRINCIPAL, code)
                assert held is not None
                assert reads.dossier_overdue(held, case.at) is case.expected, case.name
                listed = {
                    flag: {
                        d.code
                        for d in (
                            await repository.list_dossiers(
                                session, STAFF_PRINCIPAL, now=case.at, agency=None, status=None, overdue=flag,
                                due_before=None, page=1, page_size=200,
                            )
                        )[0]
                    }
                    for flag in (True, False)
                }  # fmt: skip
                assert (code in listed[True], code in listed[False]) == (case.expected, not case.expected), case.name
                to_publish = {d.code for d in await repository.overdue_to_publish(session, case.at, 200)}
                assert (code in to_publish) is case.expected, case.name
            await session.rollback()
    finally:
        await engine.dispose()


FINISHING = ("resolve", "refuse", "stop")


@pytest.mark.asyncio
async def test_the_finishing_events_carry_the_outcome_and_the_due_time(
    client: httpx.AsyncClient, intake_url: str
) -> None:
    """Each outcome case finished by resolve, refuse or stop in turn; requests to supplement that pause no working
    time (asked and answered at receipt) leave the due time where it was."""
    cases = [c for c in OUTCOME_CASES if c.due_at == DUE]
    assert len(cases) == len(OUTCOME_CASES)
    for number, case in enumerate(cases):
        response = await client.post("/dossiers", json=dossier(at=iso(RECEIVED)), headers=AUTH["desk"])
        code = response.json()["code"]
        for _ in range(case.supplement_requests):
            await send(client, code, "request_supplement", at=iso(RECEIVED))
            await send(client, code, "receive_supplement", at=iso(RECEIVED))
        command = FINISHING[number % len(FINISHING)]
        done = await send(client, code, command, at=iso(case.finished_at))
        assert done.status_code == 200, done.text
        assert done.json()["outcome"] == case.expected.value, case.name
        name, data = (await events_of(intake_url, code))[-1]
        assert name.removeprefix("dossier.") in {"resolved", "refused", "stopped"}
        assert data["outcome"] == case.expected.value, case.name
        assert datetime.fromisoformat(data["due_at"]) == case.due_at, case.name
