"""``POST /reports/drift``: the drift check and repair of services/reporting/drift.py, on demand (ops role)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from libs.common.app import RuntimeDep
from libs.common.auth import Principal, Role, require
from libs.common.errors import InvalidInput, field_error
from libs.common.validation import BoundedDate
from services.reporting import drift
from services.reporting.config import ReportingSettings
from services.reporting.schemas import ParityDossier

router = APIRouter()
Ops = Annotated[Principal, Depends(require(Role.OPS))]
MAX_DAYS = 400


class DriftRead(BaseModel):
    from_: date = Field(alias="from")
    to: date
    intake_events: int
    reporting_events: int
    missing_in_reporting: int
    unknown_to_intake: int
    unchecked_dossiers: int
    in_sync: bool
    dossiers: list[ParityDossier]
    republished: int = Field(description="outbox rows intake handed back to its relay")


@router.post("/reports/drift", tags=["operations"], operation_id="drift_check")
async def drift_check(
    request: Request,
    rt: RuntimeDep,
    _: Ops,
    from_: Annotated[BoundedDate, Query(alias="from", description="First local day of the events")],
    to: Annotated[BoundedDate, Query(description="Last local day of the events")],
    repair: Annotated[bool, Query(description="Ask intake to republish what is missing")] = True,
) -> DriftRead:
    """Compare, per dossier, the intake events of these days that reporting holds with what intake published, and
    ask intake to republish the dossiers with events missing here (the periodic check does the same for the last
    days). The inbox makes events reporting already holds harmless."""
    if not 0 <= (to - from_).days < MAX_DAYS:
        raise InvalidInput(
            f"to must be on or after from, at most {MAX_DAYS} days", errors=[field_error(("query", "to"), "range")]
        )
    settings: ReportingSettings = request.app.state.settings
    result = await drift.check_and_repair(rt, settings, from_, to, repair=repair)
    return DriftRead.model_validate(result.as_dict())
