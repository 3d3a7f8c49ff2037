"""The receipt's cache of the catalogue replica: a change stored by any process (here: another engine, as another
replica's consumer would) is seen by the next receipt; a change rolled back is not."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from libs.common.contract import AgencyPublished, ProcedureWithdrawn
from libs.common.db import create_engine, session_factory
from libs.common.testing import AUTH
from services.intake.catalogue_replica import service as replica
from services.intake.tests.conftest import birth_registration_procedure
from services.intake.tests.test_receipt_api import dossier

pytestmark = pytest.mark.asyncio


class _Rollback(Exception):
    pass


async def _store_elsewhere(url: str, *events: ProcedureWithdrawn | AgencyPublished, commit: bool = True) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            for event in events:
                if isinstance(event, AgencyPublished):
                    await replica.store_agency(session, event)
                else:
                    await replica.store_procedure(session, event)
            if not commit:
                raise _Rollback
    except _Rollback:
        pass
    finally:
        await engine.dispose()


def _withdrawn() -> ProcedureWithdrawn:
    snapshot = birth_registration_procedure()
    return ProcedureWithdrawn(code=snapshot.code, procedure=snapshot, withdrawn_on=date(2026, 3, 1))


class TestReplicaCache:
    async def test_a_withdrawal_stored_by_another_process_reaches_the_next_receipt(
        self, client: httpx.AsyncClient, intake_url: str
    ) -> None:
        first = await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])
        assert first.status_code == 201, first.text
        again = await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])  # served from the cache
        assert again.status_code == 201, again.text
        await _store_elsewhere(intake_url, _withdrawn())
        refused = await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])
        assert refused.status_code == 410, refused.text
        assert refused.json()["code"] == "procedure_withdrawn"

    async def test_an_agency_change_reaches_the_next_receipt_and_a_rolled_back_one_does_not(
        self, client: httpx.AsyncClient, intake_url: str
    ) -> None:
        assert (await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])).status_code == 201
        only_licences = AgencyPublished(
            code="000.00.00.H56", name="UBND xã Tân Lập", level="commune", procedure_codes=["2.000815"]
        )
        await _store_elsewhere(intake_url, only_licences, _withdrawn(), commit=False)
        kept = await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])
        assert kept.status_code == 201, kept.text
        await _store_elsewhere(intake_url, only_licences)
        refused = await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])
        assert refused.status_code == 422, refused.text
        assert "handling_agency_code" in refused.text
