"""Request and response models of the reporting API (reports themselves are documented JSON documents)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PlanTargetIn(BaseModel):
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


class PlanIn(BaseModel):
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
