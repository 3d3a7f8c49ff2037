"""The portal sender against the national-portal stand-in: session and renewal, the reading of answers, and a
dossier's record and steps delivered through the delivery worker in order, once, across an outage."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.db import session_factory, transaction
from libs.common.delivery import Deliveries, DeliveryStatus, DeliveryWorker, OutcomeKind, RetryPolicy, Target
from libs.common.standins.clock import ManualClock
from libs.common.standins.portal import NationalPortal
from libs.common.standins.server import serving
from services.intake.integrations.portal import PORTAL_TARGET, PortalCodes, PortalDelivery, sync_dossier, sync_progress
from services.intake.integrations.portal_sender import PortalSender
from services.intake.tests.integrations.test_portal_mapping import dossier, step

pytestmark = pytest.mark.asyncio
CODES = PortalCodes.load()


@pytest_asyncio.fixture
async def portal() -> AsyncIterator[tuple[NationalPortal, str]]:
    stand_in = NationalPortal(hang_seconds=2)
    async with serving(stand_in.app()) as base:
        yield stand_in, base


def sender(http: httpx.AsyncClient, base: str, password: str = "portal-secret") -> PortalSender:
    return PortalSender(http, base_url=base, username="motcua", password=password, agency_code="H01")


async def test_logs_in_once_and_renews_an_expired_session(
    portal: tuple[NationalPortal, str], http: httpx.AsyncClient
) -> None:
    stand_in, base = portal
    send = sender(http, base)
    first = sync_dossier(dossier(), CODES, cause_id="e1")
    assert (await send(first.payload, first.idempotency_key)).kind is OutcomeKind.DELIVERED
    assert (await send(first.payload, first.idempotency_key)).kind is OutcomeKind.DELIVERED
    assert stand_in.logins() == 1
    stand_in.expire_sessions()
    outcome = await send(first.payload, first.idempotency_key)
    assert outcome.kind is OutcomeKind.DELIVERED and stand_in.logins() == 2
    assert stand_in.calls[-1].body["madonvi"] == "H01"


async def test_reads_the_portals_answers(portal: tuple[NationalPortal, str], http: httpx.AsyncClient) -> None:
    stand_in, base = portal
    send = sender(http, base)
    record = sync_dossier(dossier(), CODES, cause_id="e1")
    stand_in.fail_next(code="99")
    stand_in.fail_next(code="05")
    stand_in.fail_next(http=503)
    retry, refused, down = [await send(record.payload, "k") for _ in range(3)]
    assert (retry.kind, retry.reason) == (OutcomeKind.RETRYABLE, "portal_99")
    assert (refused.kind, refused.reason) == (OutcomeKind.PERMANENT, "portal_05")
    assert refused.response is not None and '"error_code":"05"' in refused.response.replace(" ", "")
    assert (down.kind, down.reason) == (OutcomeKind.RETRYABLE, "http_503")
    invalid = PortalDelivery("k", "x", {"service": "DongBoHoSoMC", "record": {"MaHoSo": "x"}})
    outcome = await send(invalid.payload, "k")
    assert (outcome.kind, outcome.reason) == (OutcomeKind.PERMANENT, "portal_02")
    assert "MaTTHC" in (outcome.response or "")


async def test_its_own_timeout_beats_the_shared_clients(portal: tuple[NationalPortal, str]) -> None:
    stand_in, base = portal
    stand_in.fail_next(hang=True)  # answers 504 after 2 s: the shared client alone (10 s) would wait for it
    async with httpx.AsyncClient(timeout=10) as patient:
        send = PortalSender(patient, base_url=base, username="motcua", password="portal-secret", timeout_seconds=0.3)
        with pytest.raises(httpx.ReadTimeout):  # the worker reads this as a retryable "timeout"
            await send(sync_dossier(dossier(), CODES, cause_id="e").payload, "k")


async def test_a_wrong_password_is_retryable_not_the_records_fault(
    portal: tuple[NationalPortal, str], http: httpx.AsyncClient
) -> None:
    _, base = portal
    outcome = await sender(http, base, password="wrong")(sync_dossier(dossier(), CODES, cause_id="e").payload, "k")
    assert (outcome.kind, outcome.reason, outcome.status_code) == (OutcomeKind.RETRYABLE, "portal_login_failed", 401)


async def test_a_dossiers_life_reaches_the_portal_in_order_once_across_an_outage_and_a_refusal(
    portal: tuple[NationalPortal, str], http: httpx.AsyncClient, delivery_engine: AsyncEngine
) -> None:
    stand_in, base = portal
    clock = ManualClock()
    deliveries = Deliveries(clock)
    life = [
        sync_dossier(dossier(), CODES, cause_id="e1"),
        sync_progress(step(), CODES, cause_id="e2"),
        sync_progress(step(action="Phê duyệt kết quả", status="resolved"), CODES, cause_id="e3"),
        sync_dossier(dossier(status="resolved", resolved_at=clock.now), CODES, cause_id="e3"),
    ]
    async with transaction(session_factory(delivery_engine)) as session:
        for item in life:
            await deliveries.enqueue(
                session, item.target, item.idempotency_key, item.payload, ordering_key=item.ordering_key
            )
        # The same event enqueued again (a redelivered event): nothing more is sent.
        assert not await deliveries.enqueue(session, life[0].target, life[0].idempotency_key, life[0].payload)
    worker = DeliveryWorker(
        engine=delivery_engine,
        targets=[
            Target(
                name=PORTAL_TARGET,
                sender=sender(http, base),
                retry=RetryPolicy(base_seconds=2, max_seconds=20),
                failure_threshold=3,
                open_seconds=10,
                attempt_timeout_seconds=1,
            )
        ],
        clock=clock,
        rng=random.Random(3),
    )
    try:
        stand_in.go_down()  # 60 s of 503s
        for _ in range(30):
            await worker.deliver_once(PORTAL_TARGET)
            clock.advance(2)
        assert stand_in.accepted == []
        stand_in.come_back()
        stand_in.fail_next(code="05")  # the portal refuses the first step once it is back
        for _ in range(30):
            await worker.deliver_once(PORTAL_TARGET)
            clock.advance(2)
        async with transaction(session_factory(delivery_engine)) as session:
            dead = await deliveries.find(session, target=PORTAL_TARGET, status=DeliveryStatus.DEAD)
            assert [d.idempotency_key for d in dead] == [life[0].idempotency_key]
            assert '"05"' in dead[0].last_response
            # Nothing behind the refused record went ahead of it: the dossier's later records wait for the replay.
            assert stand_in.accepted == []
            await deliveries.replay(session, [dead[0].id])
        for _ in range(5):
            await worker.deliver_once(PORTAL_TARGET)
            clock.advance(timedelta(seconds=2).total_seconds())
    finally:
        await worker.stop()
    assert [(service, record) for service, record in stand_in.accepted] == [
        (item.payload["service"], item.payload["record"]) for item in life
    ]
