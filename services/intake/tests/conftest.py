from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest_asyncio

from libs.common.contract import (
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
from services.intake import service
from services.intake.app import create_app
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
        ],
        "online_level": OnlineLevel.FULL,
        "postal_allowed": True,
        "decision": DecisionRef(number="1234/QĐ-UBND", signed_on=date(2025, 12, 1), effective_on=date(2026, 1, 1)),
        "in_force_from": date(2026, 1, 1),
    }
    fields.update(changes)
    return ProcedureSnapshot.model_validate(fields)


@pytest_asyncio.fixture
async def intake_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with service_database("intake", backend, tmp_path) as url:
        engine = create_engine(url)
        async with session_factory(engine)() as session, session.begin():
            snapshot = birth_registration_procedure()
            await service.store_procedure(session, ProcedurePublished(code=snapshot.code, procedure=snapshot))
        await engine.dispose()
        yield url


@pytest_asyncio.fixture
async def client(intake_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(IntakeSettings(database_url=intake_url, kafka_enabled=False))
    async with running_app(app) as c:
        yield c
