"""Closing periods: close (ops), list, the pending restatement, and its approval into a new version (leader)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, status
from pydantic import BaseModel, Field

from libs.common.app import DBSession
from libs.common.audit import AuditAction
from libs.common.auth import Principal, Role, require
from libs.common.validation import CleanInput
from services.reporting import audit
from services.reporting.clock import Now
from services.reporting.models import PeriodSnapshot
from services.reporting.reports import closing
from services.reporting.reports.params import Period

router = APIRouter(tags=["closed periods"])

Ops = Annotated[Principal, Depends(require(Role.OPS))]
Leader = Annotated[Principal, Depends(require(Role.LEADER))]
Reader = Annotated[Principal, Depends(require(Role.LEADER, Role.OPS))]


class SnapshotRead(BaseModel):
    period_key: str
    version: int
    window_from: date
    window_to: date
    closed_at: datetime = Field(description="when these figures were taken")
    closed_by: str
    note: str | None


class SnapshotFigures(SnapshotRead):
    figures: dict[str, dict[str, dict[str, Any]]] = Field(description="unit (province or agency code) → indicator")


class ChangeRead(BaseModel):
    unit: str
    indicator: str
    field: str
    before: float | int | None
    after: float | int | None
    delta: float | None


class RestatementRead(BaseModel):
    snapshot: SnapshotRead = Field(description="the version reports show now")
    changes: list[ChangeRead] = Field(description="figures that would change if the restatement were approved")
    dossiers: list[str] = Field(description="dossiers of the window with an event that arrived after the snapshot")


class CloseIn(CleanInput):
    note: str | None = Field(None, max_length=2000)


def _snapshot_id(snapshot: PeriodSnapshot) -> str:
    return f"{snapshot.period_key}@v{snapshot.version}"


def _read(s: PeriodSnapshot) -> SnapshotRead:
    return SnapshotRead.model_validate(s, from_attributes=True)


@router.post(
    "/reports/periods/close",
    status_code=status.HTTP_201_CREATED,
    operation_id="close_period",
    responses={409: {"description": "already closed"}},
)
async def close_period(
    session: DBSession, who: Ops, period: Period, now: Now, body: Annotated[CloseIn | None, Body()] = None
) -> SnapshotFigures:
    """Close the period (year, quarter/month/half, window — as the reports take them): its figures for the province
    and every agency are frozen as version 1, and its reports show them from now on. 409 ``period_closed`` if it is
    closed already (see its restatement)."""
    snapshot = await closing.close_period(session, period, at=now, by=who.subject, note=body.note if body else None)
    await audit.changed(session, who, now, AuditAction.CREATE, "period_snapshot", _snapshot_id(snapshot))
    return SnapshotFigures.model_validate(snapshot, from_attributes=True)


@router.get("/reports/periods/closed", operation_id="list_closed_periods")
async def list_closed_periods(session: DBSession, _: Reader) -> list[SnapshotRead]:
    """Every closed period with the version its reports show."""
    return [_read(s) for s in await closing.closed_periods(session)]


@router.get(
    "/reports/periods/restatement",
    operation_id="period_restatement",
    responses={409: {"description": "the period is not closed"}},
)
async def period_restatement(session: DBSession, who: Reader, period: Period, now: Now) -> RestatementRead:
    """What events that arrived after the close would change: each figure (province or agency, indicator,
    numerator / denominator / value) with its snapshot and live values, and the dossiers behind the change."""
    pending = await closing.pending_restatement(session, period)
    await audit.dossiers_shown(
        session, who, now, pending.dossiers, list=f"restatement {_snapshot_id(pending.snapshot)}"
    )
    return RestatementRead(
        snapshot=_read(pending.snapshot),
        changes=[ChangeRead(**c.__dict__, delta=c.delta) for c in pending.changes],
        dossiers=pending.dossiers,
    )


@router.post(
    "/reports/periods/restatement/approve",
    status_code=status.HTTP_201_CREATED,
    operation_id="approve_restatement",
    responses={409: {"description": "the period is not closed, or nothing changed"}},
)
async def approve_restatement(
    session: DBSession, who: Leader, period: Period, now: Now, body: Annotated[CloseIn | None, Body()] = None
) -> SnapshotRead:
    """A leader approves the restatement: the live figures become the next version of the snapshot."""
    snapshot = await closing.approve_restatement(
        session, period, at=now, by=who.subject, note=body.note if body else None
    )
    await audit.changed(session, who, now, AuditAction.CHANGE, "period_snapshot", _snapshot_id(snapshot))
    return _read(snapshot)
