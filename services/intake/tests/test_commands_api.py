"""Every lifecycle command in every state, through the API: allowed ones succeed and publish their event, refused
ones answer 409 problem+json and change nothing. Then the guards beyond the state (once-only records, lateness,
``at``) and the clock (pause and resume)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from libs.common.testing import AUTH, assert_problem
from services.intake.domain.lifecycle import TRANSITIONS, Command, Status
from services.intake.tests.support import (
    OTHER_AGENCY,
    PATHS,
    body_of,
    dossier_in,
    events_of,
    receive,
    send,
)

PAIRS = list(itertools.product([s.value for s in Status], [c.value for c in Command]))


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("state", "command"), PAIRS, ids=[f"{s}-{c}" for s, c in PAIRS])
async def test_command_in_state(shared_client: httpx.AsyncClient, shared_url: str, state: str, command: str) -> None:
    code = await dossier_in(shared_client, state)
    before = await events_of(shared_url, code)
    response = await send(shared_client, code, command)
    expected = TRANSITIONS.get((Status(state), Command(command)))
    if expected is None:
        problem = assert_problem(response, 409, "transition_not_allowed")
        assert problem["state"] == state and problem["command"] == command
        assert command not in problem["allowed_commands"]
        after = await shared_client.get(f"/dossiers/{code}", headers=AUTH["handler"])
        assert after.json()["status"] == state
        assert await events_of(shared_url, code) == before
    else:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == expected.value
        events = await events_of(shared_url, code)
        assert len(events) == len(before) + 1
        name, data = events[-1]
        assert name == f"dossier.{_event(command)}"
        assert data["dossier_code"] == code


def _event(command: str) -> str:
    from services.intake.tests.support import COMMANDS

    return COMMANDS[command][3]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("command", [c.value for c in Command])
async def test_a_command_on_an_unknown_dossier_is_404(shared_client: httpx.AsyncClient, command: str) -> None:
    response = await send(shared_client, "000.00.00.H56-260302-9999", command)
    assert_problem(response, 404, "dossier_not_found")


ROLES = [
    ("transfer", "portal"),
    ("request_supplement", "portal"),
    ("refuse", "desk"),
    ("stop", "desk"),
    ("resolve", "desk"),
    ("return", "handler"),
    ("apologise", "desk"),
    ("explain", "portal"),
    ("rate", "desk"),
    ("withdraw", "handler"),
]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("command", "who"), ROLES)
async def test_commands_need_their_role(shared_client: httpx.AsyncClient, command: str, who: str) -> None:
    from services.intake.tests.support import COMMANDS

    code = await dossier_in(shared_client, "received")
    response = await shared_client.post(
        f"/dossiers/{code}/{COMMANDS[command][0]}", json=body_of(command), headers=AUTH[who]
    )
    assert_problem(response, 403, "forbidden")


class TestAt:
    pytestmark = pytest.mark.asyncio(loop_scope="module")

    async def test_a_step_in_the_future_is_422_naming_at(self, shared_client: httpx.AsyncClient) -> None:
        code = await dossier_in(shared_client, "received")
        response = await send(shared_client, code, "transfer", at="2099-01-01T09:00:00+07:00")
        problem = assert_problem(response, 422, "command_rejected")
        assert [e["field"] for e in problem["errors"]] == ["at"]

    async def test_a_step_before_the_previous_one_is_422_naming_at(self, shared_client: httpx.AsyncClient) -> None:
        code = await dossier_in(shared_client, "received")
        assert (await send(shared_client, code, "transfer", at="2026-03-03T09:00:00+07:00")).status_code == 200
        response = await send(shared_client, code, "resolve", at="2026-03-03T08:59:00+07:00")
        problem = assert_problem(response, 422, "command_rejected")
        assert problem["errors"][0]["field"] == "at"
        # before the receipt itself
        other = await dossier_in(shared_client, "received")
        response = await send(shared_client, other, "transfer", at="2026-03-01T09:00:00+07:00")
        assert_problem(response, 422, "command_rejected")

    async def test_a_naive_at_is_a_validation_error(self, shared_client: httpx.AsyncClient) -> None:
        code = await dossier_in(shared_client, "received")
        response = await send(shared_client, code, "transfer", at="2026-03-03T09:00:00")
        problem = assert_problem(response, 422, "validation_error")
        assert problem["errors"][0]["field"] == "at"


class TestOnceAndLateness:
    pytestmark = pytest.mark.asyncio(loop_scope="module")

    async def test_one_apology_only(self, shared_client: httpx.AsyncClient, shared_url: str) -> None:
        code = await dossier_in(shared_client, "in_progress")
        first = await send(shared_client, code, "apologise")
        assert first.status_code == 200
        assert first.json()["apology_due_at"] is not None
        problem = assert_problem(await send(shared_client, code, "apologise"), 409, "already_recorded")
        assert problem["record"] == "apology"

    async def test_the_apology_shows_in_the_public_look_up_but_never_changes_the_outcome(
        self, shared_client: httpx.AsyncClient
    ) -> None:
        code = await dossier_in(shared_client, "in_progress")
        new_due = datetime.now(UTC) + timedelta(days=20)
        await send(shared_client, code, "apologise", new_due_at=new_due.isoformat())
        public = (await shared_client.get(f"/public/dossiers/{code}")).json()
        assert datetime.fromisoformat(public["appointment_at"]) == new_due.replace(microsecond=new_due.microsecond)
        resolved = (await send(shared_client, code, "resolve")).json()
        # finished before the apology's date, months after the due time in force: late all the same
        assert resolved["outcome"] == "late"
        assert datetime.fromisoformat(resolved["due_at"]) == datetime(2026, 3, 5, 2, 0, tzinfo=UTC)

    async def test_no_apology_while_more_than_a_working_day_is_left(self, shared_client: httpx.AsyncClient) -> None:
        # received now: 3 working days left
        code = await receive(shared_client, at=None)
        problem = assert_problem(await send(shared_client, code, "apologise"), 409, "not_late")
        assert problem["due_at"]
        assert_problem(await send(shared_client, code, "explain"), 409, "not_late")

    async def test_the_new_appointment_must_be_later_than_the_due_time(self, shared_client: httpx.AsyncClient) -> None:
        code = await dossier_in(shared_client, "in_progress")
        response = await send(shared_client, code, "apologise", new_due_at="2026-03-04T09:00:00+07:00")
        problem = assert_problem(response, 422, "command_rejected")
        assert problem["errors"][0]["field"] == "new_due_at"

    async def test_one_explanation_only(self, shared_client: httpx.AsyncClient) -> None:
        code = await dossier_in(shared_client, "resolved")
        assert (await send(shared_client, code, "explain")).status_code == 200
        assert_problem(await send(shared_client, code, "explain"), 409, "already_recorded")

    async def test_no_explanation_for_a_dossier_finished_on_time(self, shared_client: httpx.AsyncClient) -> None:
        code = await dossier_in(shared_client, "received")
        assert (await send(shared_client, code, "resolve", at="2026-03-04T10:00:00+07:00")).json()["outcome"] == "early"
        assert_problem(await send(shared_client, code, "explain"), 409, "not_late")

    async def test_one_rating_only(self, shared_client: httpx.AsyncClient) -> None:
        code = await dossier_in(shared_client, "returned")
        assert (await send(shared_client, code, "rate")).json()["rating"] == "satisfied"
        problem = assert_problem(await send(shared_client, code, "rate", rating="unsatisfied"), 409, "already_recorded")
        assert problem["record"] == "rating"


class TestClock:
    pytestmark = pytest.mark.asyncio(loop_scope="module")

    async def test_pause_and_resume_move_the_due_time_by_working_time(
        self, shared_client: httpx.AsyncClient, shared_url: str
    ) -> None:
        # Received Wed 29 Apr 2026 10:00, 3 working days -> due Wed 6 May 10:00 (30 Apr, 1 May are holidays).
        code = await receive(shared_client, at="2026-04-29T10:00:00+07:00")
        await send(shared_client, code, "transfer", at="2026-04-29T11:00:00+07:00")
        paused = await send(shared_client, code, "request_supplement", at="2026-04-29T15:00:00+07:00")
        assert paused.json()["status"] == "awaiting_supplement"
        assert paused.json()["paused_at"] is not None
        # Supplement Mon 4 May 09:30: paused Wed 15:00–17:00 + Mon 07:00–09:30 = 4.5 working hours -> due 16:30.
        resumed = (await send(shared_client, code, "receive_supplement", at="2026-05-04T09:30:00+07:00")).json()
        assert datetime.fromisoformat(resumed["due_at"]) == datetime(2026, 5, 6, 9, 30, tzinfo=UTC)  # 16:30 +07
        assert resumed["paused_seconds"] == 4 * 3600 + 1800
        assert resumed["initial_due_at"] != resumed["due_at"]
        # Finished Wed 6 May 15:00: late against the original 10:00, on time against 16:30 in force.
        result = (await send(shared_client, code, "resolve", at="2026-05-06T15:00:00+07:00")).json()
        assert result["outcome"] == "on_time"
        events = await events_of(shared_url, code)
        received = dict(events)["dossier.supplement_received"]
        assert received["paused_seconds"] == 16200 and received["sequence"] == 1
        assert dict(events)["dossier.resolved"]["due_at"].startswith("2026-05-06T09:30:00")
        assert dict(events)["dossier.resolved"]["result_refs"] == [f"{code}-KQ1"]

    async def test_a_second_request_to_supplement_makes_it_late(self, shared_client: httpx.AsyncClient) -> None:
        code = await receive(shared_client, at="2026-03-02T09:00:00+07:00")
        for day in ("03", "04"):
            await send(shared_client, code, "request_supplement", at=f"2026-03-{day}T09:00:00+07:00")
            await send(shared_client, code, "receive_supplement", at=f"2026-03-{day}T10:00:00+07:00")
        result = (await send(shared_client, code, "resolve", at="2026-03-04T11:00:00+07:00")).json()
        assert result["supplement_requests"] == 2
        assert result["outcome"] == "late"

    async def test_a_stop_while_waiting_ends_the_pause_and_carries_the_due_time(
        self, shared_client: httpx.AsyncClient, shared_url: str
    ) -> None:
        # Due Wed 6 May 2026 10:00 (+07); paused Wed 29 Apr 15:00, stopped Mon 4 May 09:30: 4.5 working hours paused
        # (Wed 15:00–17:00, Mon 07:00–09:30) -> 16:30 +07.
        code = await receive(shared_client, at="2026-04-29T10:00:00+07:00")
        await send(shared_client, code, "request_supplement", at="2026-04-29T15:00:00+07:00")
        stopped = (await send(shared_client, code, "stop", at="2026-05-04T09:30:00+07:00")).json()
        assert stopped["paused_at"] is None and stopped["outcome"] == "early"
        data = dict(await events_of(shared_url, code))["dossier.stopped"]
        assert data["due_at"] == "2026-05-06T09:30:00Z"

    async def test_results_are_numbered_after_the_dossier(self, shared_client: httpx.AsyncClient) -> None:
        code = await dossier_in(shared_client, "in_progress")
        result = (await send(shared_client, code, "resolve", result_count=2, decision="denied")).json()
        assert result["result_refs"] == [f"{code}-KQ1", f"{code}-KQ2"]
        assert result["decision"] == "denied"

    async def test_transfers_follow_the_dossier(self, shared_client: httpx.AsyncClient, shared_url: str) -> None:
        code = await dossier_in(shared_client, "received")
        await send(shared_client, code, "transfer")
        await send(shared_client, code, "transfer", to_agency_code=OTHER_AGENCY, mode="paper", step="thẩm định")
        events = [data for name, data in await events_of(shared_url, code) if name == "dossier.transferred"]
        assert [(e["from_agency_code"], e["to_agency_code"], e["inter_agency"], e["mode"]) for e in events] == [
            ("000.00.00.H56", OTHER_AGENCY, True, "electronic"),
            (OTHER_AGENCY, OTHER_AGENCY, False, "paper"),
        ]


def test_every_state_is_reachable_in_the_tests() -> None:
    assert set(PATHS) == {s.value for s in Status}
