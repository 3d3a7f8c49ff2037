"""Request and response models of the reporting API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from libs.common.validation import CleanInput


class PlanTargetIn(CleanInput):
    indicator: str = Field(description="indicator code, see GET /indicators", examples=["on_time_rate"])
    comparator: str = Field(description="one of >, ≥, <, ≤, = (ASCII >= and <= accepted)", examples=[">"])
    value: float = Field(description="target value: percent for rates, minutes for avg_wait_minutes", examples=[98])
    year: int | None = Field(None, description="the year the target is set for; absent = every year of the plan")
    scope: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "where the target applies: level (province/district/commune), area_kind (urban/rural/remote), "
            "sector_codes / sector_names (name fragments) and exclude_sector_codes / exclude_sector_names for sector "
            "groups, label (printed)"
        ),
        examples=[{"level": "province"}],
    )
    baseline: str | None = Field(None, description="'previous_year': judge the change in points over the year before")
    note: str | None = Field(None, description="the plan's own words")


class PlanIn(CleanInput):
    model_config = ConfigDict(extra="ignore")

    plan_id: str = Field(description="stable id, e.g. bac-giang-2024-3-kh-ubnd", examples=["bac-giang-2024-3-kh-ubnd"])
    name: str
    legal_reference: str = Field(examples=["Kế hoạch số 3/KH-UBND ngày 08/01/2024 của UBND tỉnh Bắc Giang"])
    province: str | None = None
    issued_on: str | None = None
    source: str | None = None
    years: list[int] = Field(min_length=1)
    targets: list[PlanTargetIn] = Field(min_length=1)


class PlanSummary(BaseModel):
    plan_id: str
    name: str
    legal_reference: str
    province: str | None
    years: list[int]
    targets: int
    loaded_at: datetime


class PlanRead(BaseModel):
    plan_id: str
    name: str
    legal_reference: str
    province: str | None
    years: list[int]
    loaded_at: datetime
    document: dict[str, Any]


class IndicatorDefRead(BaseModel):
    code: str
    name: str
    definition: str
    basis: str
    unit: str


# ------------------------------------------------------------------------------------------------ report responses
# Reports are built by the pure rules as JSON documents; these models give them a schema in the OpenAPI. Nested
# parts allow extra keys so that a figure the rules add (``scale``, ``baseline_value`` …) is never dropped.

Number = int | float


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class WindowRead(BaseModel):
    """A report's window: local dates (inclusive) and the UTC instants of the half-open interval."""

    model_config = ConfigDict(populate_by_name=True)

    label: str = Field(examples=["Quý I/2024"])
    description: str = Field(examples=["Quý I/2024 (15/12/2023 – 14/03/2024)"])
    system: str = Field(description="official (Decree 09/2019 cut-off), calendar or custom")
    first_on: str = Field(alias="from", description="first local date")
    last_on: str = Field(alias="to", description="last local date (inclusive)")
    start: str
    end: str


class PeriodRead(WindowRead):
    kind: str = Field(description="month, quarter, half or year")
    number: int


class ScopeRead(BaseModel):
    level: str | None
    agency: str | None
    sector: str | None
    procedure: str | None


class IndicatorValue(_Open):
    indicator: str
    numerator: Number
    denominator: int
    value: Number | None = Field(description="rounded to 2 decimals; percent for rates; null when no data")
    unit: str
    no_data: bool


class IndicatorResultRead(IndicatorValue):
    name: str
    definition: str


class FiguresShown(_Open):
    """Whether a report shows live figures or a closed period's snapshot, and which version."""

    source: str = Field(description="live, or snapshot (a closed period's frozen figures)")
    closed: bool
    version: int | None = Field(description="the snapshot's version when the period is closed")
    closed_at: str | None


class IndicatorReport(BaseModel):
    window: WindowRead
    scope: ScopeRead
    attribution: str
    indicators: list[IndicatorResultRead]
    figures: FiguresShown | None = None


class DrillDown(_Open):
    indicator: str
    part: str
    window: WindowRead
    scope: ScopeRead
    kind: str = Field(description="what items are: dossiers, procedures, tickets or agencies")
    total: int = Field(description="items behind the number, over every page")
    limit: int = Field(description="the most items a page holds")
    items: list[str] = Field(description="this page's items, in code order")
    next: str | None = Field(
        description="opaque cursor of the next page: pass it back as `after`; null on the last page"
    )


class PlanRef(BaseModel):
    plan_id: str
    name: str
    legal_reference: str
    years: list[int]


class ComplianceFigure(IndicatorValue):
    status: str = Field(description="met, not_met or no_data")
    status_vi: str


class ComplianceRow(_Open):
    position: int
    indicator: str
    indicator_name: str
    unit: str
    target: dict[str, Any]
    actual: ComplianceFigure
    previous_period: IndicatorValue
    change_since_previous: Number | None
    year_to_date: ComplianceFigure


class ComplianceSection(BaseModel):
    key: str = Field(examples=["province", "level:district", "agency:000.00.00.H56"])
    label: str
    level: str | None
    rows: list[ComplianceRow]
    summary: dict[str, int]


class ComplianceReport(BaseModel):
    report: str = Field(examples=["plan_compliance"])
    province: str | None
    plan: PlanRef
    year: int
    period: WindowRead
    previous_period: WindowRead
    year_to_date: WindowRead
    attribution: str
    generated_at: str
    sections: list[ComplianceSection]
    figures: FiguresShown | None = None


class FormColumn(BaseModel):
    key: str
    heading: str
    number: int | None = Field(description="the column's number on the form; null for columns the form lacks")


class FormBlock(_Open):
    level: str | None
    label: str
    rows: list[dict[str, Any]]
    total: dict[str, Any]


class FormPart(BaseModel):
    levels: list[FormBlock]
    total: dict[str, Any]


class ResultsForm(BaseModel):
    report: str = Field(examples=["results_form"])
    form: str
    title: str
    province: str
    period: WindowRead
    unit: str
    attribution: str
    columns: list[FormColumn]
    generated_at: str
    by_sector: FormPart
    by_agency: FormPart
    figures: FiguresShown | None = None


class Index766Section(_Open):
    key: str
    label: str
    total: Number | None
    assessed_points: int
    max_points: int
    total_over_assessed: Number | None
    groups: list[dict[str, Any]]


class Index766Report(BaseModel):
    report: str = Field(examples=["decision_766_index"])
    legal_reference: str
    province: str
    period: WindowRead
    attribution: str
    scoring: str
    generated_at: str
    sections: list[Index766Section]
    figures: FiguresShown | None = None


class Counts(BaseModel):
    received: int
    finished: int


class ParityAgency(BaseModel):
    agency_code: str
    reporting: Counts
    intake: Counts
    drift: Counts


class ParityEvents(BaseModel):
    intake_events: int = Field(description="intake's dossier events of the window's days, published")
    reporting_events: int = Field(description="those events reporting holds in its ledger")
    missing_in_reporting: int
    unknown_to_intake: int
    unchecked_dossiers: int = Field(description="dossiers that differ beyond the per-check limit, not listed")
    in_sync: bool


class ParityDossier(BaseModel):
    dossier_code: str
    missing_in_reporting: list[str] = Field(description="event ids intake published that reporting does not hold")
    unknown_to_intake: list[str] = Field(description="event ids reporting holds that intake never wrote")


class ParityWindow(BaseModel):
    window: WindowRead
    agencies: list[ParityAgency]
    events: ParityEvents
    dossiers: list[ParityDossier]
    in_sync: bool


class ParityReport(BaseModel):
    intake_url: str
    in_sync: bool
    windows: list[ParityWindow]


class LedgerEventRead(BaseModel):
    event_id: str
    type: str
    recorded_at: datetime
    data: dict[str, Any]


class DossierFactRead(BaseModel):
    fact: dict[str, Any] = Field(description="the fact row's columns (identity codes hashed)")
    events: list[LedgerEventRead]


class LateCounts(BaseModel):
    on_time: int = Field(description="finished in the month early or on time")
    late: int = Field(description="finished in the month late")
    overdue: int = Field(description="in progress and overdue at the month's end (agencies only)")
    late_total: int = Field(description="late + overdue")
    counted: int = Field(description="on_time + late_total")
    late_share: float = Field(description="late_total / counted, in percent")


class LateAgency(LateCounts):
    agency_code: str | None
    agency_name: str


class LateOfficer(LateCounts):
    officer_id: str | None = Field(description="the principal's opaque subject; null: unknown (before the field)")
    officer_name: str = Field(description='the officer\'s name as signed in, or "Không rõ" (unknown)')
    known: bool
    agency_code: str | None
    agency_name: str


class LateList(BaseModel):
    """The month's list of late agencies and officers (docs/reporting.md, "Late agencies and officers")."""

    report: str = Field(examples=["late_list"])
    period: WindowRead
    complete: bool = Field(description="false while the month is still under way (counted up to now)")
    scope: dict[str, str | None]
    attribution: str
    generated_at: str
    agencies: list[LateAgency]
    officers: list[LateOfficer]
