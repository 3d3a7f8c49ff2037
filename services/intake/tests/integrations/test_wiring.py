"""Intake's outbound deliveries as wired: what the receipt and the commands enqueue, what reaches the stand-ins, the
synchronised events, the per-dossier view, consent, opt-out and quiet hours."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from libs.common.db import create_engine
from libs.common.delivery import Deliveries, DeliveryStatus, DeliveryWorker, delivery
from libs.common.messaging.outbox import Outbox
from libs.common.messaging.tables import outbox
from libs.common.standins.clock import ManualClock
from libs.common.standins.gateway import MessageGateway
from libs.common.standins.portal import NationalPortal
from libs.common.standins.server import serving
from libs.common.testing import AUTH, assert_problem, running_app
from services.intake.app import create_app
from services.intake.config import IntakeSettings
from services.intake.integrations import backfill
from services.intake.integrations.notices import VIETNAM
from services.intake.integrations.outbound import portal_settled
from services.intake.integrations.portal import PORTAL_TARGET, SYNC_DOSSIER, SYNC_PROGRESS
from services.intake.integrations.targets import delivery_targets
from services.intake.tests.support import dossier, send

pytestmark = pytest.mark.asyncio

LIFE = ["transfer", "request_supplement", "receive_supplement", "resolve", "return"]
# portal status code after each step (portal_codes.json)
LIFE_STATUSES = ["4", "5", "4", "9", "10"]


def integration_settings(url: str, **changes: Any) -> IntakeSettings:
    values: dict[str, Any] = {
        "database_url": url,
        "kafka_enabled": False,
        "overdue_check_seconds": 0,
        "delivery_worker": False,  # the test drives its own worker, on its own clock
        "portal_username": "motcua",
        "portal_password": "portal-secret",
        "portal_agency_code": "000.00.00.H56",
        "portal_timeout_seconds": 0.5,
    }
    values.update(changes)
    return IntakeSettings(**values)


@pytest_asyncio.fixture
async def portal() -> AsyncIterator[tuple[NationalPortal, str]]:
    stand_in = NationalPortal(hang_seconds=2.0)
    async with serving(stand_in.app()) as url:
        yield stand_in, url


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def worker_for(settings: IntakeSettings, http: httpx.AsyncClient, clock: ManualClock) -> DeliveryWorker:
    engine = create_engine(settings.database_url)
    on_settled = portal_settled(Outbox(source="/motcua/intake", topic_prefix=settings.topic_prefix))
    targets = [
        dataclasses.replace(t, on_settled=on_settled) if t.name == PORTAL_TARGET else t
        for t in delivery_targets(settings, http)
    ]
    return DeliveryWorker(engine=engine, targets=targets, clock=clock)


async def close(worker: DeliveryWorker) -> None:
    await worker.stop()  # releases the per-target locks (their PostgreSQL connections) before the engine goes
    await worker.engine.dispose()


async def drain(worker: DeliveryWorker, target: str, clock: ManualClock, rounds: int = 50) -> None:
    """Deliver until nothing is due, moving the clock past any backoff."""
    for _ in range(rounds):
        if await worker.deliver_once(target) == 0:
            async with worker.engine.connect() as conn:
                pending = (
                    await conn.execute(
                        select(delivery.c.id).where(
                            delivery.c.target == target, delivery.c.status == DeliveryStatus.PENDING.value
                        )
                    )
                ).all()
            if not pending:
                return
            clock.advance(60)


async def rows(url: str, target: str | None = None) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            query = select(delivery).order_by(delivery.c.id)
            if target is not None:
                query = query.where(delivery.c.target == target)
            return list((await conn.execute(query)).all())
    finally:
        await engine.dispose()


async def sync_events(url: str, code: str) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            found = (
                await conn.execute(
                    select(outbox.c.type, outbox.c.payload)
                    .where(outbox.c.key == code, outbox.c.type.like("%portal%"))
                    .order_by(outbox.c.id)
                )
            ).all()
    finally:
        await engine.dispose()
    return [{"type": r.type, **json.loads(r.payload)["data"]} for r in found]


async def live(client: httpx.AsyncClient) -> str:
    response = await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])
    assert response.status_code == 201, response.text
    code = str(response.json()["code"])
    for command in LIFE:
        assert (await send(client, code, command)).status_code == 200, command
    return code


class TestPortalSynchronisation:
    async def test_off_by_default_nothing_is_enqueued(self, intake_url: str) -> None:
        async with running_app(create_app(integration_settings(intake_url))) as client:
            await live(client)
        assert await rows(intake_url) == []

    async def test_a_whole_life_reaches_the_portal_once_in_order(
        self, intake_url: str, portal: tuple[NationalPortal, str], http: httpx.AsyncClient
    ) -> None:
        stand_in, base = portal
        settings = integration_settings(intake_url, portal_enabled=True, portal_base_url=base)
        clock = ManualClock(datetime.now(UTC))
        async with running_app(create_app(settings)) as client:
            code = await live(client)
            worker = worker_for(settings, http, clock)
            await drain(worker, PORTAL_TARGET, clock)
            await close(worker)
            view = await client.get(f"/dossiers/{code}/deliveries", headers=AUTH["handler"])

        # receipt + the five record changes but the hand-over; one progress step per step
        records = stand_in.received(SYNC_DOSSIER)
        steps = stand_in.received(SYNC_PROGRESS)
        assert [r["TrangThaiHoSo"] for r in records] == ["2", "5", "4", "9", "10"]
        assert [s["TrangThai"] for s in steps] == LIFE_STATUSES
        assert all(r["MaHoSo"] == code for r in records + steps)
        order = [
            (c.path, c.body["data"][0].get("TrangThaiHoSo") or c.body["data"][0]["TrangThai"])
            for c in stand_in.calls
            if c.path != "login"
        ]
        # each record change reaches the portal before the step that caused it
        assert order[:3] == [(SYNC_DOSSIER, "2"), (SYNC_PROGRESS, "4"), (SYNC_DOSSIER, "5")]
        assert len(order) == 10  # nothing sent twice, nothing refused (the stand-in validates every record)
        assert records[-1]["NgayTra"] and records[-1]["DanhSachGiayToKetQua"]

        events = await sync_events(intake_url, code)
        assert [e["type"] for e in events] == ["vn.motcua.intake.dossier.synced_to_portal"] * 10
        assert [e["service"] for e in events][:2] == [SYNC_DOSSIER, SYNC_PROGRESS]
        assert not {"ChuHoSo", "applicant_name", "MaDoiTuong"} & set().union(*events)

        assert view.status_code == 200, view.text
        body = view.json()
        assert [d["kind"] for d in body["portal"]][:2] == [SYNC_DOSSIER, SYNC_PROGRESS]
        assert {d["status"] for d in body["portal"]} == {"delivered"}
        assert body["portal"][0]["attempts"][0]["reason"] == "ok"
        assert body["notices"] == []

    async def test_portal_down_for_60_seconds_loses_nothing_and_sends_nothing_twice(
        self, intake_url: str, portal: tuple[NationalPortal, str], http: httpx.AsyncClient
    ) -> None:
        stand_in, base = portal
        settings = integration_settings(
            intake_url,
            portal_enabled=True,
            portal_base_url=base,
            delivery_failure_threshold=3,
            delivery_open_seconds=10,
        )
        clock = ManualClock(datetime.now(UTC))
        async with running_app(create_app(settings)) as client:
            code = await live(client)
            worker = worker_for(settings, http, clock)
            stand_in.go_down(http=503)
            start = clock()
            while clock() - start < timedelta(seconds=60):
                await worker.deliver_once(PORTAL_TARGET)
                clock.advance(5)
            assert stand_in.received(SYNC_DOSSIER) == []
            stand_in.come_back()
            await drain(worker, PORTAL_TARGET, clock)
            await close(worker)
        assert [r["TrangThaiHoSo"] for r in stand_in.received(SYNC_DOSSIER)] == ["2", "5", "4", "9", "10"]
        assert [s["TrangThai"] for s in stand_in.received(SYNC_PROGRESS)] == LIFE_STATUSES
        assert {r.status for r in await rows(intake_url)} == {"delivered"}
        assert len(await sync_events(intake_url, code)) == 10

    async def test_a_refused_record_is_a_dead_letter_that_holds_its_steps_and_replays(
        self, intake_url: str, portal: tuple[NationalPortal, str], http: httpx.AsyncClient
    ) -> None:
        stand_in, base = portal
        settings = integration_settings(intake_url, portal_enabled=True, portal_base_url=base)
        clock = ManualClock(datetime.now(UTC))
        async with running_app(create_app(settings)) as client:
            response = await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])
            code = response.json()["code"]
            assert (await send(client, code, "transfer")).status_code == 200
            worker = worker_for(settings, http, clock)
            stand_in.fail_next(code="05")  # the portal refuses the record
            await drain(worker, PORTAL_TARGET, clock, rounds=3)
            found = await rows(intake_url, PORTAL_TARGET)
            assert [r.status for r in found] == ["dead", "pending"]  # the step waits behind its record
            assert json.loads(found[0].last_response)["error_code"] == "05"
            failed = await sync_events(intake_url, code)
            assert [(e["type"], e["reason"]) for e in failed] == [
                ("vn.motcua.intake.dossier.sync_to_portal_failed", "portal_05")
            ]

            async with worker._sessions() as session, session.begin():
                assert await Deliveries().replay(session, [found[0].id]) == [found[0].id]
            await drain(worker, PORTAL_TARGET, clock)
            await close(worker)
        assert [r.status for r in await rows(intake_url, PORTAL_TARGET)] == ["delivered", "delivered"]
        assert len(stand_in.received(SYNC_DOSSIER)) == 1 and len(stand_in.received(SYNC_PROGRESS)) == 1
        types = [e["type"].rsplit(".", 1)[1] for e in await sync_events(intake_url, code)]
        assert types == ["sync_to_portal_failed", "synced_to_portal", "synced_to_portal"]

    async def test_unknown_dossier_has_no_deliveries(self, intake_url: str) -> None:
        async with running_app(create_app(integration_settings(intake_url))) as client:
            response = await client.get("/dossiers/000.00.00.H56-260302-9999/deliveries", headers=AUTH["handler"])
        assert_problem(response, 404, "dossier_not_found")


def quiet_now() -> str:
    """Quiet hours around the present moment (Vietnam time), so that the test does not depend on when it runs."""
    now = datetime.now(VIETNAM)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    if start.date() != now.date() or end.date() != now.date():  # near midnight: a window crossing it
        return f"{start:%H:%M}-{end:%H:%M}"
    return f"{start:%H:%M}-{end:%H:%M}"


class TestNotices:
    @staticmethod
    def notice_settings(url: str, **changes: Any) -> IntakeSettings:
        return integration_settings(
            url,
            sms_enabled=True,
            sms_brandname="MOTCUA",
            sms_api_key="sms-key",
            email_enabled=True,
            notice_quiet_hours="",
            **changes,
        )

    async def test_no_consent_no_notice(self, intake_url: str) -> None:
        body = dossier(applicant={**dossier()["applicant"], "phone": "0912345678"})
        async with running_app(create_app(self.notice_settings(intake_url))) as client:
            response = await client.post("/dossiers", json=body, headers=AUTH["desk"])
            assert response.status_code == 201
        assert await rows(intake_url) == []  # a phone number given is not consent

    async def test_consent_gives_one_notice_per_event_per_channel_until_opt_out(self, intake_url: str) -> None:
        consent = {"channels": ["sms", "email"], "phone": "0912345678", "email": "an@example.vn"}
        async with running_app(create_app(self.notice_settings(intake_url))) as client:
            response = await client.post("/dossiers", json=dossier(notices=consent), headers=AUTH["desk"])
            code = response.json()["code"]
            assert (await send(client, code, "transfer")).status_code == 200  # no notice for a hand-over
            assert (await send(client, code, "request_supplement")).status_code == 200
            view = (await client.get(f"/dossiers/{code}/deliveries", headers=AUTH["handler"])).json()
            out = await client.post(f"/dossiers/{code}/notices/opt-out", headers=AUTH["desk"])
            assert out.status_code == 200 and out.json()["opted_out_at"]
            assert (await send(client, code, "receive_supplement")).status_code == 200
            assert (await send(client, code, "resolve")).status_code == 200  # result ready: not sent, opted out
        found = await rows(intake_url)
        assert sorted((r.target, r.idempotency_key.split(":")[1]) for r in found) == [
            ("notice_email", "receipt"),
            ("notice_email", "supplement_request"),
            ("notice_sms", "receipt"),
            ("notice_sms", "supplement_request"),
        ]
        sms = [json.loads(r.payload) for r in found if r.target == "notice_sms"]
        assert sms[0]["phone"] == "0912345678" and code in sms[0]["text"]
        assert "Giấy chứng sinh bản chính" in sms[1]["text"]  # what is missing, with its diacritics
        assert [(n["channel"], n["kind"], n["status"]) for n in view["notices"]][:2] == [
            ("sms", "receipt", "pending"),
            ("email", "receipt", "pending"),
        ]

    async def test_an_imported_dossier_sends_no_notice_for_its_history(self, intake_url: str) -> None:
        consent = {"channels": ["sms"], "phone": "0912345678"}
        row = dossier(
            code="000.00.00.H56-260302-0042",
            notices=consent,
            steps=[
                {"command": "request_supplement", "items": ["Giấy chứng sinh bản chính"], "reason": "Bản chụp không rõ"}
            ],
        )
        async with running_app(create_app(self.notice_settings(intake_url))) as client:
            report = (await client.post("/imports/dossiers", json=[row], headers=AUTH["ops"])).json()
        assert report["accepted"] == 1, report
        assert await rows(intake_url) == []

    async def test_consent_needs_the_address_of_each_channel(self, intake_url: str) -> None:
        async with running_app(create_app(self.notice_settings(intake_url))) as client:
            response = await client.post("/dossiers", json=dossier(notices={"channels": ["sms"]}), headers=AUTH["desk"])
        assert_problem(response, 422, "validation_error")

    async def test_quiet_hours_hold_sms_to_the_morning_not_email(
        self, intake_url: str, http: httpx.AsyncClient
    ) -> None:
        gateway = MessageGateway()
        consent = {"channels": ["sms", "email"], "phone": "0912345678", "email": "an@example.vn"}
        async with serving(gateway.app()) as base:
            settings = self.notice_settings(intake_url, sms_gateway_url=f"{base}/sms/send")
            settings = settings.model_copy(update={"notice_quiet_hours": quiet_now()})
            async with running_app(create_app(settings)) as client:
                response = await client.post("/dossiers", json=dossier(notices=consent), headers=AUTH["desk"])
                assert response.status_code == 201
            found = {r.target: r for r in await rows(intake_url)}
            held = found["notice_sms"].not_before
            held = held if held.tzinfo else held.replace(tzinfo=UTC)
            assert held > datetime.now(UTC) + timedelta(minutes=50)
            assert found["notice_email"].not_before <= found["notice_email"].created_at

            clock = ManualClock(datetime.now(UTC))
            worker = worker_for(settings, http, clock)
            assert await worker.deliver_once("notice_sms") == 0 and gateway.sms == []  # not at night
            clock.advance(2 * 3600)
            assert await worker.deliver_once("notice_sms") == 1
            assert await worker.deliver_once("notice_sms") == 0  # once
            await close(worker)
        assert len(gateway.sms) == 1 and gateway.sms[0]["brandname"] == "MOTCUA"


class TestBackfill:
    async def test_history_is_enqueued_once_per_run(
        self, intake_url: str, portal: tuple[NationalPortal, str], http: httpx.AsyncClient
    ) -> None:
        async with running_app(create_app(integration_settings(intake_url))) as client:  # before the portal was on
            code = await live(client)
        assert await rows(intake_url) == []
        _, base = portal
        settings = integration_settings(intake_url, portal_enabled=True, portal_base_url=base)
        first = await backfill.run(settings, run_id="r1", batch=1)
        again = await backfill.run(settings, run_id="r1", batch=1)
        assert (first.dossiers, first.enqueued, again.enqueued) == (1, 6, 0)  # the record, then the five steps
        found = await rows(intake_url, PORTAL_TARGET)
        assert [json.loads(r.payload)["service"] for r in found] == [SYNC_DOSSIER] + [SYNC_PROGRESS] * 5
        assert {r.ordering_key for r in found} == {code}
        record = json.loads(found[0].payload)["record"]
        assert record["TrangThaiHoSo"] == "10"  # as it now is: returned
