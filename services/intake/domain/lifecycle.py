"""The dossier's life at the one-stop desk as one table of allowed transitions (Decree 61/2018 Art. 17–20).

Pure data: the service looks a command up here before touching anything, so a command from a state that does not
allow it is refused (409) without side effects. Commands that record something without moving the dossier
(apology, explanation, rating) are listed as transitions to the same state; their own once-only and lateness
guards live in the service, because they depend on more than the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class Status(StrEnum):
    RECEIVED = "received"  # accepted, code and appointment issued; not yet handed over
    IN_PROGRESS = "in_progress"  # handed over to (or between) the handling agencies
    AWAITING_SUPPLEMENT = "awaiting_supplement"  # form 02 issued during processing: the clock is paused
    RESOLVED = "resolved"  # result issued (approved or denied): finished
    RETURNED = "returned"  # result handed back to the applicant
    REFUSED = "refused"  # form 03 after acceptance: finished
    WITHDRAWN = "withdrawn"  # withdrawn by the applicant: closed, not finished
    STOPPED = "stopped"  # processing stopped: finished


class Command(StrEnum):
    TRANSFER = "transfer"
    REQUEST_SUPPLEMENT = "request_supplement"
    RECEIVE_SUPPLEMENT = "receive_supplement"
    REFUSE = "refuse"
    WITHDRAW = "withdraw"
    STOP = "stop"
    RESOLVE = "resolve"
    RETURN = "return"
    APOLOGISE = "apologise"
    EXPLAIN = "explain"
    RATE = "rate"


S, C = Status, Command

_OPEN = (S.RECEIVED, S.IN_PROGRESS)
_UNFINISHED = (S.RECEIVED, S.IN_PROGRESS, S.AWAITING_SUPPLEMENT)
_FINISHED = (S.RESOLVED, S.RETURNED, S.REFUSED, S.STOPPED)

_table: dict[tuple[Status, Command], Status] = {}
for _s in _OPEN:
    _table[_s, C.TRANSFER] = S.IN_PROGRESS
    _table[_s, C.REQUEST_SUPPLEMENT] = S.AWAITING_SUPPLEMENT
    _table[_s, C.REFUSE] = S.REFUSED
    _table[_s, C.RESOLVE] = S.RESOLVED
_table[S.AWAITING_SUPPLEMENT, C.RECEIVE_SUPPLEMENT] = S.IN_PROGRESS
# Refused (form 03) or stopped while waiting for a supplement: the pause ends at that moment, the due time in force
# moves by the paused working time and the outcome is judged against it (docs/intake.md, "States").
_table[S.AWAITING_SUPPLEMENT, C.REFUSE] = S.REFUSED
for _s in _UNFINISHED:
    _table[_s, C.WITHDRAW] = S.WITHDRAWN
    _table[_s, C.STOP] = S.STOPPED
    # the new appointment is for a result still to come
    _table[_s, C.APOLOGISE] = _s
    _table[_s, C.EXPLAIN] = _s
_table[S.RESOLVED, C.RETURN] = S.RETURNED
for _s in _FINISHED:
    # a dossier finished late is still explained to the head of the agency (late_explained_rate)
    _table[_s, C.EXPLAIN] = _s
    _table[_s, C.RATE] = _s

TRANSITIONS: Mapping[tuple[Status, Command], Status] = MappingProxyType(_table)
"""``(state, command) -> state after``; a pair missing from the table is refused."""

UNFINISHED: frozenset[Status] = frozenset(_UNFINISHED)
FINISHED: frozenset[Status] = frozenset((S.RESOLVED, S.RETURNED, S.REFUSED, S.STOPPED))
"""Finished for timeliness (docs/domain.md, "Outcome"): result issued, refused after acceptance, or stopped.
Withdrawn is neither finished nor unfinished: it has no outcome and is never overdue."""


class TransitionRefused(Exception):
    def __init__(self, status: Status, command: Command) -> None:
        super().__init__(f"cannot {command.value.replace('_', ' ')} a dossier that is {status.value.replace('_', ' ')}")
        self.status = status
        self.command = command


def allowed_commands(status: Status) -> list[Command]:
    return [command for command in Command if (status, command) in TRANSITIONS]


def next_status(status: Status, command: Command) -> Status:
    """The state after ``command``; raises ``TransitionRefused`` when the table does not allow it."""
    try:
        return TRANSITIONS[status, command]
    except KeyError:
        raise TransitionRefused(status, command) from None
