"""The transition table, pair by pair: every (state, command) is either allowed to a known state or refused."""

from __future__ import annotations

import itertools

import pytest

from services.intake.domain.lifecycle import (
    FINISHED,
    TRANSITIONS,
    UNFINISHED,
    Command,
    Status,
    TransitionRefused,
    allowed_commands,
    next_status,
)

S, C = Status, Command

# Written out by hand from Decree 61/2018 Art. 17–20 and docs/domain.md (not derived from the table under test).
EXPECTED: dict[tuple[Status, Command], Status] = {
    (S.RECEIVED, C.TRANSFER): S.IN_PROGRESS,
    (S.RECEIVED, C.REQUEST_SUPPLEMENT): S.AWAITING_SUPPLEMENT,
    (S.RECEIVED, C.REFUSE): S.REFUSED,
    (S.RECEIVED, C.WITHDRAW): S.WITHDRAWN,
    (S.RECEIVED, C.STOP): S.STOPPED,
    (S.RECEIVED, C.RESOLVE): S.RESOLVED,
    (S.RECEIVED, C.APOLOGISE): S.RECEIVED,
    (S.RECEIVED, C.EXPLAIN): S.RECEIVED,
    (S.IN_PROGRESS, C.TRANSFER): S.IN_PROGRESS,
    (S.IN_PROGRESS, C.REQUEST_SUPPLEMENT): S.AWAITING_SUPPLEMENT,
    (S.IN_PROGRESS, C.REFUSE): S.REFUSED,
    (S.IN_PROGRESS, C.WITHDRAW): S.WITHDRAWN,
    (S.IN_PROGRESS, C.STOP): S.STOPPED,
    (S.IN_PROGRESS, C.RESOLVE): S.RESOLVED,
    (S.IN_PROGRESS, C.APOLOGISE): S.IN_PROGRESS,
    (S.IN_PROGRESS, C.EXPLAIN): S.IN_PROGRESS,
    (S.AWAITING_SUPPLEMENT, C.RECEIVE_SUPPLEMENT): S.IN_PROGRESS,
    # refused or stopped while waiting for a supplement: the pause ends then (docs/intake.md, "States")
    (S.AWAITING_SUPPLEMENT, C.REFUSE): S.REFUSED,
    (S.AWAITING_SUPPLEMENT, C.WITHDRAW): S.WITHDRAWN,
    (S.AWAITING_SUPPLEMENT, C.STOP): S.STOPPED,
    (S.AWAITING_SUPPLEMENT, C.APOLOGISE): S.AWAITING_SUPPLEMENT,
    (S.AWAITING_SUPPLEMENT, C.EXPLAIN): S.AWAITING_SUPPLEMENT,
    (S.RESOLVED, C.RETURN): S.RETURNED,
    (S.RESOLVED, C.EXPLAIN): S.RESOLVED,
    (S.RESOLVED, C.RATE): S.RESOLVED,
    (S.RETURNED, C.EXPLAIN): S.RETURNED,
    (S.RETURNED, C.RATE): S.RETURNED,
    (S.REFUSED, C.EXPLAIN): S.REFUSED,
    (S.REFUSED, C.RATE): S.REFUSED,
    (S.STOPPED, C.EXPLAIN): S.STOPPED,
    (S.STOPPED, C.RATE): S.STOPPED,
}

ALL_PAIRS = list(itertools.product(Status, Command))


@pytest.mark.parametrize(("status", "command"), [p for p in ALL_PAIRS if p in EXPECTED], ids=str)
def test_allowed_transition(status: Status, command: Command) -> None:
    assert next_status(status, command) is EXPECTED[status, command]
    assert command in allowed_commands(status)


@pytest.mark.parametrize(("status", "command"), [p for p in ALL_PAIRS if p not in EXPECTED], ids=str)
def test_refused_transition(status: Status, command: Command) -> None:
    with pytest.raises(TransitionRefused) as refused:
        next_status(status, command)
    assert refused.value.status is status and refused.value.command is command
    assert command not in allowed_commands(status)


def test_the_table_is_exactly_the_expected_one() -> None:
    assert dict(TRANSITIONS) == EXPECTED


def test_withdrawn_is_closed_but_not_finished() -> None:
    assert S.WITHDRAWN not in FINISHED and S.WITHDRAWN not in UNFINISHED
    assert allowed_commands(S.WITHDRAWN) == []
    assert FINISHED.isdisjoint(UNFINISHED)


def test_the_table_cannot_be_edited_at_run_time() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[S.WITHDRAWN, C.RATE] = S.WITHDRAWN  # type: ignore[index]
