"""The replica of which agencies a dossier belongs to (libs/common/dossier_agencies.py), as digitisation and payments
keep it from the dossiers topic, and the scope conditions read from it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import literal, select

from libs.common.auth import AgencyScope
from libs.common.contract.events import DossierTransferred, TransferMode
from libs.common.db import create_engine, session_factory, transaction
from libs.common.dossier_agencies import covers_dossier, dossier_agency, dossier_condition
from libs.common.testing import dossier_received, feed_dossier_agencies, service_database

pytestmark = pytest.mark.asyncio

CODE = "000.21.31.H56-260302-0001"
COMMUNE, DISTRICT, PROVINCE_DEPT, OTHER = "000.21.31.H56", "000.00.21.H56", "000.00.15.H56", "000.00.12.H56"


def transferred(to: str, day: int = 3) -> DossierTransferred:
    return DossierTransferred(
        dossier_code=CODE,
        from_agency_code=DISTRICT,
        to_agency_code=to,
        mode=TransferMode.ELECTRONIC,
        inter_agency=True,
        at=datetime(2026, 3, day, 2, 0, tzinfo=UTC),
    )


@pytest_asyncio.fixture
async def url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with service_database("payments", backend, tmp_path) as database_url:
        yield database_url


async def owners(url: str) -> dict[str, bool]:
    """For each agency, whether the scope of that agency alone covers the dossier, by SQL and by look-up."""
    engine = create_engine(url)
    try:
        async with transaction(session_factory(engine)) as session:
            found: dict[str, bool] = {}
            for agency in (COMMUNE, DISTRICT, PROVINCE_DEPT, OTHER):
                scope = AgencyScope.of(agency)
                by_sql = (await session.execute(select(dossier_condition(scope, literal(CODE))))).scalar_one()
                by_lookup = await covers_dossier(session, scope, CODE)
                assert bool(by_sql) == by_lookup, agency
                found[agency] = by_lookup
            return found
    finally:
        await engine.dispose()


class TestReplica:
    async def test_the_code_alone_gives_the_receiving_agency(self, url: str) -> None:
        assert await owners(url) == {COMMUNE: True, DISTRICT: False, PROVINCE_DEPT: False, OTHER: False}

    async def test_receipt_then_transfer_adds_the_handling_and_the_current_agency(self, url: str) -> None:
        await feed_dossier_agencies(url, dossier_received(CODE, receiving=COMMUNE, handling=DISTRICT))
        assert await owners(url) == {COMMUNE: True, DISTRICT: True, PROVINCE_DEPT: False, OTHER: False}
        await feed_dossier_agencies(url, transferred(PROVINCE_DEPT))
        assert await owners(url) == {COMMUNE: True, DISTRICT: True, PROVINCE_DEPT: True, OTHER: False}

    async def test_a_transfer_seen_before_the_receipt_is_not_undone_by_it(self, url: str) -> None:
        await feed_dossier_agencies(url, transferred(PROVINCE_DEPT))
        await feed_dossier_agencies(url, dossier_received(CODE, receiving=COMMUNE, handling=DISTRICT))
        assert await owners(url) == {COMMUNE: True, DISTRICT: True, PROVINCE_DEPT: True, OTHER: False}

    async def test_a_redelivered_event_changes_nothing(self, url: str) -> None:
        received = dossier_received(CODE, receiving=COMMUNE, handling=DISTRICT)
        await feed_dossier_agencies(url, received, transferred(PROVINCE_DEPT), received)
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(select(dossier_agency))).all()
        finally:
            await engine.dispose()
        assert [(r.receiving_agency_code, r.handling_agency_code, r.current_agency_code) for r in rows] == [
            (COMMUNE, DISTRICT, PROVINCE_DEPT)
        ]

    async def test_province_wide_and_empty_scopes(self, url: str) -> None:
        engine = create_engine(url)
        try:
            async with transaction(session_factory(engine)) as session:
                assert await covers_dossier(session, AgencyScope.province(), CODE)
                assert not await covers_dossier(session, AgencyScope(), CODE)
        finally:
            await engine.dispose()
