from __future__ import annotations

from libs.common.errors import Conflict, InvalidInput, NotFound


class PlanNotFound(NotFound):
    code = "plan_not_found"


class PlanYearNotCovered(NotFound):
    """The plan sets no target for that year: judging it against another year's targets would invent a goal."""

    code = "plan_year_not_covered"


class PlanInvalid(InvalidInput):
    code = "plan_invalid"


class IndicatorUnknown(NotFound):
    code = "indicator_unknown"


class AgencyUnknown(NotFound):
    code = "agency_unknown"


class DossierUnknown(NotFound):
    code = "dossier_not_found"


class PeriodInvalid(InvalidInput):
    code = "period_invalid"


class CursorInvalid(InvalidInput):
    """A drill-down's ``after`` that this drill-down did not issue (or ``offset``, which it no longer takes)."""

    code = "cursor_invalid"


class IntakeUnavailable(NotFound):
    """Intake's counts could not be read (parity check)."""

    status, code, title = 502, "intake_unavailable", "Intake did not answer"


class PeriodAlreadyClosed(Conflict):
    code = "period_closed"


class PeriodNotClosed(Conflict):
    code = "period_not_closed"
