from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio

from libs.common.testing import running_app, service_database
from services.catalogue.app import create_app
from services.catalogue.config import CatalogueSettings


def settings(url: str) -> CatalogueSettings:
    return CatalogueSettings(database_url=url, kafka_enabled=False)


@pytest_asyncio.fixture
async def catalogue_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with service_database("catalogue", backend, tmp_path) as url:
        yield url


@pytest_asyncio.fixture
async def client(catalogue_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app(settings(catalogue_url))) as c:
        yield c
