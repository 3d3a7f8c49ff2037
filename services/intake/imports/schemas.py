"""Models of an import: a row of history (the receipt, an optional original code, the steps) and the report."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from services.intake.domain.lifecycle import Command
from services.intake.dossiers.schemas import DossierCreate


class ImportRowResult(BaseModel):
    row: int
    status: str  # accepted / rejected
    dossier_code: str | None = None
    errors: list[dict[str, Any]] = []


class ImportReport(BaseModel):
    accepted: int
    rejected: int
    rows: list[ImportRowResult]


class ImportStep(BaseModel):
    command: Command


class ImportRow(DossierCreate):
    """A historical dossier: the receipt fields (``at`` required), optionally its original code, and its steps
    in order, each ``{"command": "<transfer|request_supplement|…>", "at": …, <that command's fields>}``."""

    at: AwareDatetime
    code: str | None = None
    steps: list[dict[str, Any]] = Field(default_factory=list)
