"""Response models of the control sheet (form 05) and of the counts per receiving agency."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class StepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    command: str
    at: datetime
    actor: str
    status_before: str
    status_after: str
    from_agency_code: str | None
    to_agency_code: str | None
    note: str | None
    details: dict[str, Any]


class ControlSheetRow(StepRead):
    result: str = Field(description="early / on_time / late of this step against the due time in force")


class ControlSheet(BaseModel):
    """Form 05 (process control sheet): one row per hand-over and recorded step."""

    dossier_code: str
    applicant_name: str
    procedure_name: str
    received_at: datetime
    due_at: datetime
    handling_agencies: list[str]
    rows: list[ControlSheetRow]


class AgencyCount(BaseModel):
    agency_code: str
    received: int
    finished: int


class StatsWindow(BaseModel):
    from_: date = Field(alias="from")
    to: date
    timezone: str = "Asia/Ho_Chi_Minh"
    model_config = ConfigDict(populate_by_name=True)


class DossierStats(BaseModel):
    window: StatsWindow
    agencies: list[AgencyCount]
