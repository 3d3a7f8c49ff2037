"""The contract's timeliness functions against the shared case table (intake and reporting run the same table)."""

from __future__ import annotations

import pytest

from libs.common.contract import judge_outcome, overdue
from libs.common.tests.timeliness_cases import OUTCOME_CASES, OVERDUE_CASES, OutcomeCase, OverdueCase


@pytest.mark.parametrize("case", OUTCOME_CASES, ids=lambda c: c.name)
def test_outcome(case: OutcomeCase) -> None:
    assert judge_outcome(case.finished_at, case.due_at, case.supplement_requests) is case.expected


@pytest.mark.parametrize("case", OVERDUE_CASES, ids=lambda c: c.name)
def test_overdue(case: OverdueCase) -> None:
    due, paused_since, second = case.state_at(case.at)
    assert overdue(case.at, due_at=due, paused_since=paused_since, second_request=second) is case.expected
