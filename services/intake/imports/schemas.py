"""Models of an import: a row of history (the receipt, an optional original code, the steps) and the report."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from libs.common.contract import PERSONAL_ID_NUMBER, OfficerRef
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


class ImportOfficer(BaseModel):
    """Who took a historical step, as the source system recorded them: an opaque account id (never an identity
    number) and their name; absent when the source does not know."""

    id: str = Field(min_length=1, max_length=200, description="an opaque account id, never an identity number")
    display_name: str = Field(min_length=1, max_length=200)
    title: str | None = Field(None, max_length=200)

    @field_validator("id")
    @classmethod
    def _not_an_identity_number(cls, value: str) -> str:
        if PERSONAL_ID_NUMBER.match(value.strip()):
            raise ValueError("an officer's id is an account id, not a personal identification number")
        return value

    def ref(self) -> OfficerRef:
        return OfficerRef(id=self.id, display_name=self.display_name, title=self.title)


class ImportStep(BaseModel):
    command: Command
    officer: ImportOfficer | None = None


class ImportRow(DossierCreate):
    """A historical dossier: the receipt fields (``at`` required), optionally its original code and the officer who
    received it, and its steps in order, each ``{"command": "<transfer|request_supplement|…>", "at": …,
    <that command's fields>}`` with an optional ``"officer"``. The events name the officer a row or step gives, else
    nobody (never the importer)."""

    at: AwareDatetime
    code: str | None = None
    steps: list[dict[str, Any]] = Field(default_factory=list)
    officer: ImportOfficer | None = Field(None, description="who received it; each step may name its own officer")
