"""Every lifecycle command in every state, through the API: allowed ones succeed and publish their event, refused
ones answer 409 problem+json and change nothing. Then the guards beyond the state (once-only records, lateness,
``at``) and the clock (pause and resume)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

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

VN = ZoneInfo("Asia/Ho_Chi_Minh")
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

    async def test_an_early_apology_is_accepted_and_recorded_in_time(
        self, shared_client: httpx.AsyncClient, shared_url: str
    ) -> None:
        # docs/domain.md "Apology": issued any time while unfinished. Received now: 3 working days left, so at least
        # one working day before the due time: in time. The explanation still waits for lateness.
        code = await receive(shared_client, at=None)
        response = await send(shared_client, code, "apologise")
        assert response.status_code == 200, response.text
        assert response.json()["apology_issued_in_time"] is True
        assert dict(await events_of(shared_url, code))["dossier.apologised"]["issued_in_time"] is True
        form = await shared_client.get(f"/dossiers/{code}/forms/04.html", headers=AUTH["handler"])
        assert "ít nhất 01 ngày làm việc: Có." in form.text
        problem = assert_problem(await send(shared_client, code, "explain"), 409, "not_late")
        assert problem["due_at"]

    async def test_an_apology_once_late_is_not_in_time(self, shared_client: httpx.AsyncClient, shared_url: str) -> None:
        # due Thu 5 Mar 2026 09:00, apologised now (months later): late, so not in time
        code = await dossier_in(shared_client, "in_progress")
        assert (await send(shared_client, code, "apologise")).json()["apology_issued_in_time"] is False
        assert dict(await events_of(shared_url, code))["dossier.apologised"]["issued_in_time"] is False
        form = await shared_client.get(f"/dossiers/{code}/forms/04.html", headers=AUTH["handler"])
        assert "đã quá thời hạn" in form.text and "ít nhất 01 ngày làm việc: Không." in form.text

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

    async def test_a_refusal_while_waiting_ends_the_pause(
        self, shared_client: httpx.AsyncClient, shared_url: str
    ) -> None:
        # docs/intake.md "States": form 03 while waiting for a supplement ends the pause then. Due Wed 6 May 2026 10:00;
        # paused Wed 29 Apr 15:00 (30 Apr, 1 May, the weekend off), refused Mon 4 May 09:30: 15:00–17:00 (2 h) +
        # Mon from the opening to 09:30 (2 h at 07:30, 2.5 h at 07:00); the due time moves by the same amount.
        code = await receive(shared_client, at="2026-04-29T10:00:00+07:00")
        await send(shared_client, code, "request_supplement", at="2026-04-29T15:00:00+07:00")
        refused = await send(shared_client, code, "refuse", at="2026-05-04T09:30:00+07:00")
        assert refused.status_code == 200, refused.text
        body = refused.json()
        assert body["status"] == "refused" and body["paused_at"] is None and body["outcome"] == "early"
        paused = timedelta(seconds=body["paused_seconds"])
        assert paused in (timedelta(hours=4), timedelta(hours=4, minutes=30))
        due = datetime.fromisoformat(body["due_at"])
        # 10:00 + 4 working hours = 11:30 (1.5 h) + 13:30–16:00 (2.5 h); + 4.5 h at 07:00 opening -> 16:30
        expected_local = time(16, 0) if paused == timedelta(hours=4) else time(16, 30)
        assert due.astimezone(VN).date() == date(2026, 5, 6) and due.astimezone(VN).time() == expected_local
        data = dict(await events_of(shared_url, code))["dossier.refused"]
        assert datetime.fromisoformat(data["due_at"]) == due

    async def test_supplement_requests_say_whether_they_came_within_three_working_days(
        self, shared_client: httpx.AsyncClient, shared_url: str
    ) -> None:
        # Decree 61/2018 Art. 19: received Mon 2 Mar 2026 09:00 -> window ends Thu 5 Mar 09:00.
        on_time = await receive(shared_client, at="2026-03-02T09:00:00+07:00")
        await send(shared_client, on_time, "request_supplement", at="2026-03-05T09:00:00+07:00")
        late = await receive(shared_client, at="2026-03-02T09:00:00+07:00")
        await send(shared_client, late, "request_supplement", at="2026-03-05T09:01:00+07:00")
        assert dict(await events_of(shared_url, on_time))["dossier.supplement_requested"]["in_time"] is True
        late_event = dict(await events_of(shared_url, late))["dossier.supplement_requested"]
        assert late_event["in_time"] is False and late_event["handling_agency_code"] == "000.00.00.H56"

    async def test_linked_processing_counts_from_the_last_transfer_to_another_agency(
        self, shared_client: httpx.AsyncClient, shared_url: str
    ) -> None:
        # Received Mon 2 Mar 09:00, transferred electronically to another agency Wed 4 Mar 10:00: its three working
        # days end Mon 9 Mar 10:00, so a request on Fri 6 Mar is in time though past the receipt's window.
        code = await receive(shared_client, at="2026-03-02T09:00:00+07:00")
        await send(shared_client, code, "transfer", at="2026-03-04T10:00:00+07:00")
        await send(shared_client, code, "request_supplement", at="2026-03-06T10:00:00+07:00")
        events = dict(await events_of(shared_url, code))
        assert events["dossier.supplement_requested"]["in_time"] is True
        assert events["dossier.supplement_requested"]["handling_agency_code"] == OTHER_AGENCY
        # the hand-over out of the desk came two days after the receipt: late (Art. 18, same working day)
        assert events["dossier.transferred"]["late"] is True

    async def test_a_paper_transfer_after_three_takes_effect_next_morning(
        self, shared_client: httpx.AsyncClient, shared_url: str
    ) -> None:
        # Decree 61/2018 Art. 18: received Mon 2 Mar 2026 09:00, paper transfer recorded 15:30 the same day: not late,
        # effective at Tue 3 Mar's opening, which form 05 shows with the recorded time beside it.
        code = await receive(shared_client, at="2026-03-02T09:00:00+07:00")
        await send(shared_client, code, "transfer", mode="paper", at="2026-03-02T15:30:00+07:00")
        data = dict(await events_of(shared_url, code))["dossier.transferred"]
        assert data["late"] is False
        effective = datetime.fromisoformat(data["effective_at"]).astimezone(VN)
        assert effective.date() == date(2026, 3, 3) and effective.time() <= time(7, 30)
        form = await shared_client.get(f"/dossiers/{code}/forms/05.html", headers=AUTH["handler"])
        assert "ghi nhận lúc" in form.text and "Chuyển muộn" not in form.text

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
