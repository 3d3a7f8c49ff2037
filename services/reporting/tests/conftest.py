from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.contract.envelope import Envelope
from libs.common.contract.registry import registry
from libs.common.db import create_engine
from libs.common.messaging.consumer import ConsumerRunner, Message
from libs.common.testing import HeldPort, running_app, service_database
from services.reporting.app import create_app
from services.reporting.config import ReportingSettings
from services.reporting.fold.handlers import CONSUMER, make_fold
from services.reporting.tests.factory import PSEUDONYM_KEY, PSEUDONYMIZER

__all__ = ["PSEUDONYM_KEY", "Feeder"]
KEYED = registry.with_pseudonymizer(PSEUDONYMIZER)


@pytest_asyncio.fixture
async def reporting_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with service_database("reporting", backend, tmp_path) as url:
        yield url


@pytest_asyncio.fixture
async def engine(reporting_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(reporting_url)
    yield engine
    await engine.dispose()


class Feeder:
    """Feeds envelopes through the real consumer runner (inbox dedupe, one transaction per batch), no broker."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.runner = ConsumerRunner(
            name=CONSUMER,
            engine=engine,
            handler=make_fold(KEYED),
            topics=[],
            bootstrap_servers="unused:1",
            registry=KEYED,
        )
        self.offset = 0

    async def feed(self, envelopes: Sequence[Envelope], batch_size: int = 1000) -> None:
        for start in range(0, len(envelopes), batch_size):
            messages = []
            for e in envelopes[start : start + batch_size]:
                self.offset += 1
                messages.append(Message("t", 0, self.offset, e.subject.encode(), e.to_bytes()))
            await self.runner.process(messages)


@pytest_asyncio.fixture
async def feeder(engine: AsyncEngine) -> Feeder:
    return Feeder(engine)


@pytest_asyncio.fixture
async def client(reporting_url: str) -> AsyncIterator[httpx.AsyncClient]:
    with HeldPort() as nobody:  # bound, never listening: the parity check finds intake down
        app = create_app(
            ReportingSettings(
                database_url=reporting_url,
                kafka_enabled=False,
                pseudonym_key=PSEUDONYM_KEY,
                province_name="Tỉnh Thử",
                intake_url=f"http://127.0.0.1:{nobody.port}",
            )
        )
        async with running_app(app) as c:
            yield c
