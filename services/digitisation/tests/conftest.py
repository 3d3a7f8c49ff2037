from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio

from libs.common.testing import running_app, service_database
from services.digitisation.app import create_app
from services.digitisation.config import DigitisationSettings


@pytest_asyncio.fixture
async def digitisation_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with service_database("digitisation", backend, tmp_path) as url:
        yield url


@pytest_asyncio.fixture
async def client(digitisation_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app(DigitisationSettings(database_url=digitisation_url, kafka_enabled=False))) as c:
        yield c
