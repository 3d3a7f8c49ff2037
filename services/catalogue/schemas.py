"""Request and response models of the catalogue API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from libs.common.contract import (
    AgencyCode,
    DecisionRef,
    DocumentComponent,
    DocumentTypeCode,
    FeeItem,
    LimitUnit,
    OnlineLevel,
    ProcedureCode,
    ProcedureSnapshot,
    ProcessStep,
    ResultDocument,
    Sector,
    SectorCode,
    TimeLimitData,
)
from libs.common.validation import CleanInput
from services.catalogue.domain.levels import Level

Text = Annotated[str, Field(min_length=1, max_length=500)]


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SectorIn(_In):
    code: SectorCode | None = None
    name: Text


class FeeIn(_In):
    name: Text
    amount_vnd: int | None = Field(default=None, ge=0, description="VND; null when set by the provincial council")
    kind: Literal["fee", "charge"] = Field("fee", description="fee (phí) or charge (lệ phí)")
    payable_online: bool = False


class ComponentIn(_In):
    code: DocumentTypeCode = Field(description="document-type code (the catalogue's component code)")
    name: Text
    copies: int = Field(1, ge=1)
    required: bool = True
    must_digitise: bool = False
    reusable_from_warehouse: bool = Field(False, description="may be taken from the data warehouse (once-only)")


class ResultIn(_In):
    type_code: DocumentTypeCode = Field(description="result code in the national procedure database")
    name: Text
    electronic: bool = True


class StepIn(_In):
    order: int = Field(ge=1)
    actor: Text
    action: Text
    allowance_hours: float = Field(ge=0, description="working hours allowed to this step")


class TimeLimitIn(_In):
    amount: int = Field(ge=0, description="working days or hours; 0 for same_day")
    unit: LimitUnit


class DecisionIn(_In):
    number: Text = Field(examples=["1234/QĐ-UBND"])
    signed_on: date
    effective_on: date

    @model_validator(mode="after")
    def _effective_after_signing(self) -> Self:
        if self.effective_on < self.signed_on:
            raise ValueError("effective_on is before signed_on")
        return self


class ProcedureContent(_In):
    """Everything a version of a procedure says. Process steps must fit the legal time limit."""

    name: Text = Field(examples=["Đăng ký khai sinh"])
    sector: SectorIn
    levels: list[Level] = Field(min_length=1)
    agency_kinds: list[Text] = []
    agency_codes: list[AgencyCode] = Field([], description="agencies that handle it; empty = any at its levels")
    time_limit: TimeLimitIn
    fees: list[FeeIn] = []
    components: list[ComponentIn] = []
    results: list[ResultIn] = []
    online_level: OnlineLevel = OnlineLevel.NONE
    postal_allowed: bool = False
    cross_boundary_allowed: bool = False
    inter_agency: bool = Field(False, description="liên thông: several agencies take part")
    participating_agencies: list[Text] = []
    certification: bool = False
    public: bool = Field(True, description="made public (on the portal) as well as published by decision")
    process: list[StepIn] = []


class ProcedureCreate(ProcedureContent):
    code: ProcedureCode
    decision: DecisionIn


class ProcedureAmendment(ProcedureContent):
    decision: DecisionIn


class WithdrawalIn(_In):
    decision: DecisionIn


def snapshot_parts(content: ProcedureContent) -> dict[str, object]:
    """The content as the contract's types (the snapshot minus code, version, decision and dates)."""
    return {
        "name": content.name,
        "sector": Sector(code=content.sector.code, name=content.sector.name),
        "levels": [level.value for level in dict.fromkeys(content.levels)],
        "agency_kinds": list(content.agency_kinds),
        "agency_codes": list(dict.fromkeys(content.agency_codes)),
        "time_limit": TimeLimitData(amount=content.time_limit.amount, unit=content.time_limit.unit),
        "fees": [FeeItem(**f.model_dump()) for f in content.fees],
        "components": [DocumentComponent(**c.model_dump()) for c in content.components],
        "results": [ResultDocument(**r.model_dump()) for r in content.results],
        "online_level": content.online_level,
        "postal_allowed": content.postal_allowed,
        "cross_boundary_allowed": content.cross_boundary_allowed,
        "inter_agency": content.inter_agency,
        "participating_agencies": list(content.participating_agencies),
        "certification": content.certification,
        "public": content.public,
        "process": [ProcessStep(**s.model_dump()) for s in content.process],
    }


# ---------------------------------------------------------------- reads


class ProcedureRead(ProcedureSnapshot):
    """A version of a procedure, with the procedure's withdrawal if there is one."""

    latest_version: int
    withdrawn_on: date | None = None
    withdrawal: DecisionRef | None = None


class ProcedureSummary(BaseModel):
    code: str
    version: int
    name: str
    sector: Sector
    levels: list[str]
    time_limit: TimeLimitData
    online_level: OnlineLevel
    has_fees: bool
    fees_payable_online: bool
    postal_allowed: bool
    cross_boundary_allowed: bool
    inter_agency: bool
    certification: bool
    public: bool
    in_force_from: date
    in_force_until: date | None


class ProcedurePage(BaseModel):
    items: list[ProcedureSummary]
    total: int
    page: int
    page_size: int


class VersionRead(BaseModel):
    version: int
    decision: DecisionRef
    in_force_from: date
    in_force_until: date | None
    recorded_at: datetime


class WithdrawalRead(BaseModel):
    code: str
    version: int
    withdrawn_on: date
    decision: DecisionRef


class AgencyIn(_In):
    name: Text
    level: Level
    parent_code: AgencyCode | None = None
    area_kind: Literal["urban", "rural", "remote"] | None = None
    desks: list[Text] = Field([], description="one-stop desks (quầy) of the agency")
    desk_officers: int | None = Field(None, ge=0)
    procedure_codes: list[ProcedureCode] = Field([], description="procedures the agency handles")


class AgencyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    level: str
    parent_code: str | None
    area_kind: str | None
    desks: list[str]
    desk_officers: int | None
    procedure_codes: list[str]


class AgencyPage(BaseModel):
    items: list[AgencyRead]
    total: int
    page: int
    page_size: int


class RejectedRow(BaseModel):
    row: int = Field(description="1-based position in a JSON array; the sheet's row number in Excel")
    code: str | None
    errors: list[str]


class ImportReport(BaseModel):
    accepted: int
    rejected: list[RejectedRow]
    published: list[str] = Field(description="new procedures (version 1)")
    amended: list[str] = Field(description="procedures given a new version")
    unchanged: list[str] = Field(description="rows identical to the version they would amend: no new version")


class IndicatorRead(BaseModel):
    indicator: str
    numerator: int
    denominator: int
    value: float | None = Field(description="percent, 2 decimals; null = no data")
    no_data: bool


class IndicatorsRead(BaseModel):
    on: date
    indicators: list[IndicatorRead]
