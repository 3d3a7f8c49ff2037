from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from libs.common.contract import (
    AgencyPublished,
    DecisionRef,
    DocumentComponent,
    FeeItem,
    LimitUnit,
    OnlineLevel,
    ProcedurePublished,
    ProcedureSnapshot,
    Sector,
    TimeLimitData,
)
from libs.common.db import create_engine, session_factory
from libs.common.testing import running_app, service_database
from services.intake.app import create_app
from services.intake.catalogue_replica import service as replica
from services.intake.config import IntakeSettings


def birth_registration_procedure(**changes: object) -> ProcedureSnapshot:
    """A sample civil-status procedure: 3 working days, online in full, one component to digitise."""
    fields: dict[str, object] = {
        "code": "1.001193",
        "version": 1,
        "name": "Đăng ký khai sinh",
        "sector": Sector(code="G09-TP03", name="Hộ tịch"),
        "levels": ["commune"],
        "time_limit": TimeLimitData(amount=3, unit=LimitUnit.WORKING_DAYS),
        "fees": [FeeItem(name="Lệ phí", amount_vnd=8000, kind="charge", payable_online=True)],
        "components": [
            DocumentComponent(code="GKS", name="Giấy chứng sinh", must_digitise=True),
            DocumentComponent(code="UQ", name="Văn bản ủy quyền", required=False),
        ],
        "online_level": OnlineLevel.FULL,
        "postal_allowed": True,
        "decision": DecisionRef(number="1234/QĐ-UBND", signed_on=date(2025, 12, 1), effective_on=date(2026, 1, 1)),
        "in_force_from": date(2026, 1, 1),
    }
    fields.update(changes)
    return ProcedureSnapshot.model_validate(fields)


def business_licence_procedure(**changes: object) -> ProcedureSnapshot:
    """A provincial procedure: 15 working days, counter only, a fee of 1.250.000 đ, withdrawn from 1 July 2026."""
    fields: dict[str, object] = {
        "code": "2.000815",
        "version": 1,
        "name": "Cấp giấy phép kinh doanh",
        "sector": Sector(code="G03-CT01", name="Công thương"),
        "levels": ["province"],
        "time_limit": TimeLimitData(amount=15, unit=LimitUnit.WORKING_DAYS),
        "fees": [FeeItem(name="Phí thẩm định", amount_vnd=1_250_000)],
        "components": [DocumentComponent(code="DN", name="Đơn đề nghị")],
        "online_level": OnlineLevel.NONE,
        "postal_allowed": False,
        "decision": DecisionRef(number="99/QĐ-UBND", signed_on=date(2025, 12, 1), effective_on=date(2026, 1, 1)),
        "in_force_from": date(2026, 1, 1),
        "in_force_until": date(2026, 6, 30),
    }
    fields.update(changes)
    return ProcedureSnapshot.model_validate(fields)


AGENCIES = [
    AgencyPublished(code="000.00.00.H56", name="UBND xã Tân Lập", level="commune", procedure_codes=[]),
    AgencyPublished(code="000.17.22.H56", name="Phòng Tư pháp", level="commune", procedure_codes=["1.001193"]),
    AgencyPublished(code="000.00.12.H56", name="Sở Công Thương", level="province", procedure_codes=["2.000815"]),
]


async def seed(url: str) -> None:
    engine = create_engine(url)
    async with session_factory(engine)() as session, session.begin():
        for snapshot in (birth_registration_procedure(), business_licence_procedure()):
            await replica.store_procedure(session, ProcedurePublished(code=snapshot.code, procedure=snapshot))
        for agency in AGENCIES:
            await replica.store_agency(session, agency)
    await engine.dispose()


def settings(url: str) -> IntakeSettings:
    return IntakeSettings(database_url=url, kafka_enabled=False, overdue_check_seconds=0)


@pytest_asyncio.fixture
async def intake_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with service_database("intake", backend, tmp_path, prepare=seed) as url:
        yield url


@pytest_asyncio.fixture
async def client(intake_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app(settings(intake_url))) as c:
        yield c


# One database and app per module and backend, for the large parametrized tables (transition matrix).
@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def module_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_url(module_backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with service_database("intake", module_backend, tmp_path_factory.mktemp("intake"), prepare=seed) as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_client(shared_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app(settings(shared_url))) as c:
        yield c
