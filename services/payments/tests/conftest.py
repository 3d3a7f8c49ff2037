from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio

from libs.common.testing import running_app, service_database
from services.payments.app import create_app
from services.payments.config import PaymentsSettings
from services.payments.tests.support import SECRETS


@pytest_asyncio.fixture
async def payments_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with service_database("payments", backend, tmp_path) as url:
        yield url


@pytest_asyncio.fixture
async def client(payments_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = PaymentsSettings(database_url=payments_url, kafka_enabled=False, provider_secrets=SECRETS)
    async with running_app(create_app(settings)) as c:
        yield c
