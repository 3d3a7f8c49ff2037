"""The live fold and the rebuild give exactly the facts of a full refold, for many dossiers whose events (every type
of the ledger) arrive in a random order, in random batches, with duplicates — on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.contract.envelope import Envelope
from libs.common.contract.events import (
    Channel,
    ComponentForm,
    Decision,
    DocumentDigitised,
    DossierOverdue,
    DossierStopped,
    DossierSyncedToPortal,
    DossierSyncToPortalFailed,
    PaymentChannel,
    PaymentFailed,
    PaymentRefunded,
    Rating,
    ReturnChannel,
    SubmittedComponent,
    TransferMode,
)
from libs.common.db import session_factory
from libs.common.messaging.consumer import ConsumerRunner, Message
from services.reporting import models as m
from services.reporting.fold.facts import fold_dossier
from services.reporting.fold.handlers import CONSUMER
from services.reporting.fold.ledger import DOSSIER_EVENTS, LedgerEvent
from services.reporting.models import FACT_COLUMNS
from services.reporting.rebuild import _loader, clear, fold_every_dossier
from services.reporting.tests.conftest import KEYED, Feeder
from services.reporting.tests.factory import PSEUDONYMIZER, Dossier, vn

pytestmark = pytest.mark.asyncio

DOSSIERS = 60


def random_dossier(rng: random.Random, n: int) -> Dossier:
    """A dossier with a random life: some of every kind of event, some events at the same instant."""
    received = vn(2024, 1, 2, 8) + timedelta(hours=rng.randrange(0, 24 * 30))
    due = received + timedelta(days=rng.choice([1, 3, 5]))
    d = Dossier(
        f"000.00.15.H56-240102-{n:04d}",
        received_at=received,
        due_at=due,
        channel=rng.choice(list(Channel)),
        has_fees=rng.random() < 0.5,
        fees_due_vnd=rng.choice([0, 50_000]),
        identified=rng.random() < 0.5,
        components=[
            SubmittedComponent(code="GKS", form=ComponentForm.ELECTRONIC, must_digitise=True, digitised=False),
            SubmittedComponent(code="CCCD", form=rng.choice(list(ComponentForm))),
        ],
    )

    def at(hours: float) -> datetime:
        return received + timedelta(hours=hours)

    steps: list[Any] = [
        lambda: d.add(
            DocumentDigitised(
                holder_pseudonym=PSEUDONYMIZER.pseudonym("001204012345"),
                type_code="GKS",
                dossier_code=d.code,
                component_code="GKS",
                at=at(0.5),
            )
        ),
        lambda: d.reuse(at(0.6), component="CCCD"),
        lambda: d.transfer(at(1), rng.choice(list(TransferMode)), inter_agency=rng.random() < 0.7),
        lambda: d.supplement(1, at(2), at(26), new_due_at=due + timedelta(days=1)),
        lambda: d.supplement(2, at(27)),
        lambda: d.assess(at(1), rng.choice([20_000, 50_000])),
        lambda: d.add(
            PaymentFailed(
                payment_id=f"{d.code}-P1",
                dossier_code=d.code,
                procedure_code="1.001193",
                amount_vnd=50_000,
                channel=PaymentChannel.ONLINE,
                reason="thẻ hết hạn",
                at=at(1.5),
            )
        ),
        lambda: d.pay(f"{d.code}-P1", at(1.6), 50_000, rng.choice(list(PaymentChannel))),
        lambda: d.add(
            PaymentRefunded(
                payment_id=f"{d.code}-P1", dossier_code=d.code, amount_vnd=50_000, reason="thu thừa", at=at(30)
            )
        ),
        lambda: d.add(DossierOverdue(dossier_code=d.code, due_at=due, at=due)),
        lambda: d.apologise(at(20), new_due_at=due + timedelta(days=2), in_time=rng.choice([True, False, None])),
        lambda: d.explain(at(21)),
        lambda: d.add(DossierSyncedToPortal(dossier_code=d.code, service="DongBoHoSoMC", attempts=1, at=at(0.1))),
        lambda: d.add(
            DossierSyncToPortalFailed(
                dossier_code=d.code, service="CapNhatTienDoHoSoMC", reason="hết thời gian", attempts=3, at=at(0.1)
            )
        ),
    ]
    for step in steps:
        if rng.random() < 0.5:
            step()
    finish = rng.choice(["resolve", "refuse", "stop", "withdraw", "open", "resolve_then_withdraw"])
    end = at(rng.choice([10, 48, 24 * 7]))
    if finish in ("resolve", "resolve_then_withdraw"):
        d.resolve(end, electronic=rng.random() < 0.5, decision=rng.choice(list(Decision)))
    elif finish == "refuse":
        d.refuse(end)
    elif finish == "stop":
        d.add(DossierStopped(dossier_code=d.code, reason="người nộp đề nghị", at=end))
    if finish in ("withdraw", "resolve_then_withdraw"):
        d.withdraw(end if rng.random() < 0.3 else end - timedelta(hours=1))  # sometimes the same instant
    if finish != "open":
        d.return_(end + timedelta(hours=1), rng.choice(list(ReturnChannel)))
        d.rate(end + timedelta(hours=2), rng.choice(list(Rating)))
        if rng.random() < 0.5:
            d.rate(end + timedelta(hours=2), rng.choice(list(Rating)))  # a second rating at the same instant
    return d


def scenario(seed: int) -> tuple[dict[str, list[Envelope]], list[list[Envelope]]]:
    """Each dossier's events, and all of them in random batches: shuffled, some redelivered, some batches repeated."""
    rng = random.Random(seed)
    dossiers = {d.code: d.envelopes() for d in (random_dossier(rng, n) for n in range(DOSSIERS))}
    envelopes = [e for events in dossiers.values() for e in events]
    stream = envelopes + rng.sample(envelopes, len(envelopes) // 5)
    rng.shuffle(stream)
    batches: list[list[Envelope]] = []
    while stream:
        size = rng.choice([1, 3, 17, 64])
        batches.append(stream[:size])
        stream = stream[size:]
    batches += rng.sample(batches, 3)
    return dossiers, batches


def full_refold(dossiers: dict[str, list[Envelope]]) -> dict[str, dict[str, Any]]:
    """Each dossier folded from all its events at once."""
    out = {}
    for code, events in dossiers.items():
        ledger = [LedgerEvent(e.id, e.name, e.time, KEYED.parse(e).model_dump(mode="json")) for e in events]
        fact = fold_dossier(code, ledger)
        out[code] = {c: getattr(fact, c) for c in FACT_COLUMNS}
    return out


async def stored(engine: AsyncEngine) -> tuple[dict[str, dict[str, Any]], set[tuple[Any, ...]]]:
    async with session_factory(engine)() as session:
        rows = await session.scalars(select(m.DossierFact))
        facts = {r.dossier_code: {c: getattr(r, c) for c in FACT_COLUMNS} for r in rows}
        payments = {
            (p.payment_id, p.dossier_code, p.status, p.channel, p.amount_vnd, p.agency_code)
            for p in await session.scalars(select(m.PaymentTxn))
        }
    return facts, payments


@pytest.mark.parametrize("seed", [14, 2026])
async def test_the_scenario_covers_every_event_type_of_the_ledger(seed: int) -> None:
    _, batches = scenario(seed)
    names = {e.name for batch in batches for e in batch}
    assert names >= {model.event_name for model in DOSSIER_EVENTS}
    assert len({e.id for batch in batches for e in batch}) < sum(len(b) for b in batches)  # duplicates


@pytest.mark.parametrize("seed", [14, 2026])
async def test_live_fold_in_random_order_with_duplicates_equals_a_full_refold(
    engine: AsyncEngine, feeder: Feeder, seed: int
) -> None:
    dossiers, batches = scenario(seed)
    for batch in batches:
        await feeder.feed(batch)
    facts, _ = await stored(engine)
    expected = full_refold(dossiers)
    assert {(c, k, v, expected[c][k]) for c in facts for k, v in facts[c].items() if v != expected[c][k]} == set()
    assert facts == expected


async def test_rebuild_gives_exactly_the_facts_of_the_live_fold(engine: AsyncEngine, feeder: Feeder) -> None:
    dossiers, batches = scenario(7)
    for batch in batches:
        await feeder.feed(batch)
    live = await stored(engine)

    # The rebuild's two phases on a fresh database: load every batch (ledger only), then fold each dossier once.
    async with session_factory(engine)() as session, session.begin():
        await clear(session)
    loader = ConsumerRunner(
        name=CONSUMER, engine=engine, handler=_loader(KEYED), topics=[], bootstrap_servers="unused:1", registry=KEYED
    )
    offset = 0
    for batch in batches:
        messages = []
        for e in batch:
            offset += 1
            messages.append(Message("t", 0, offset, e.subject.encode(), e.to_bytes()))
        await loader.process(messages)
    assert (await stored(engine))[0] == {}  # the load phase writes no fact
    folded = await fold_every_dossier(engine, chunk=7)  # chunks that split the dossiers unevenly
    assert folded == len(dossiers)
    assert await stored(engine) == live
    assert live[0] == full_refold(dossiers)
