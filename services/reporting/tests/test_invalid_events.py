"""Events the contract does not accept are dead-lettered with a reason, never folded (docs/reporting.md, "Fold")."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.contract.envelope import Envelope
from libs.common.db import session_factory
from libs.common.messaging.tables import dead_letter
from services.reporting import models as m
from services.reporting.tests.conftest import Feeder
from services.reporting.tests.factory import Dossier, envelope, procedure, vn

CODE = "000.00.15.H56-240102-0001"


def dossier() -> Dossier:
    return Dossier(CODE, received_at=vn(2024, 1, 2, 9), due_at=vn(2024, 1, 5, 17))


def tampered(e: Envelope, *, data: dict[str, object] | None = None, version: int | None = None) -> Envelope:
    schema = e.dataschema if version is None else e.dataschema.rsplit(":v", 1)[0] + f":v{version}"
    return e.model_copy(update={"data": {**e.data, **(data or {})}, "dataschema": schema})


async def dead_letters(engine: AsyncEngine) -> list[str]:
    async with session_factory(engine)() as session:
        return list((await session.execute(select(dead_letter.c.error).order_by(dead_letter.c.offset))).scalars())


class TestInvalidEvents:
    @pytest.mark.asyncio
    async def test_a_decision_outside_the_contract(self, engine: AsyncEngine, feeder: Feeder) -> None:
        d = dossier()
        d.resolve(vn(2024, 1, 4, 10))
        received, resolved = d.envelopes()
        await feeder.feed([received, tampered(resolved, data={"decision": "HACKED"})])
        errors = await dead_letters(engine)
        assert len(errors) == 1
        # the consumer runner checks every event against the contract before the fold sees it
        assert "payload breaks the contract of intake.dossier.resolved v1: decision:" in errors[0]
        assert "HACKED" not in errors[0]  # the reason names the field and the rule, not the value
        async with session_factory(engine)() as session:
            fact = await session.get(m.DossierFact, CODE)
            ledger = (await session.execute(select(m.DossierEvent.name))).scalars().all()
        assert fact is not None and fact.finished_at is None and fact.outcome is None  # still in progress
        assert ledger == ["intake.dossier.received"]

    @pytest.mark.asyncio
    async def test_a_version_newer_than_the_contract(self, engine: AsyncEngine, feeder: Feeder) -> None:
        await feeder.feed([tampered(dossier().envelopes()[0], version=3)])
        errors = await dead_letters(engine)
        assert errors == [
            "unsupported version: intake.dossier.received v3 is newer than v2, the newest this consumer knows"
        ]
        async with session_factory(engine)() as session:
            assert await session.get(m.DossierFact, CODE) is None

    @pytest.mark.asyncio
    async def test_a_v2_procedure_is_not_applied_as_v1(self, engine: AsyncEngine, feeder: Feeder) -> None:
        v1 = envelope(procedure("1.001193"))
        renamed = procedure("1.001193", in_force_from=date(2020, 1, 1))
        renamed = renamed.model_copy(update={"procedure": renamed.procedure.model_copy(update={"name": "Tên mới"})})
        await feeder.feed([v1, tampered(envelope(renamed), version=2)])
        assert len(await dead_letters(engine)) == 1
        async with session_factory(engine)() as session:
            names = (await session.execute(select(m.ProcedureState.name))).scalars().all()
        assert names == ["Thủ tục 1.001193"]
