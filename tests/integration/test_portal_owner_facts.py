"""Through the real broker: digitisation's and payments' events reach intake's ``intake-owners`` consumer, and the
national-portal stand-in receives ``DongBoHoSoMC`` records (validated against the schema by the stand-in) saying
which component was digitised, which was re-used from the data warehouse, the fees and that they were paid online;
the fee-due notice reaches the SMS stand-in once, also when its event is delivered twice, not after an opt-out, and
not during quiet hours.

The owners' events are published as digitisation and payments publish them (their own tests cover how their APIs
produce them): this test is about intake's side, and reads only the fields intake reads. PostgreSQL, Kafka-protocol
broker, intake's own consumer and delivery worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from libs.common.contract import (
    DocumentDigitised,
    Envelope,
    EventPayload,
    FeeAssessed,
    FeeItem,
    PaymentChannel,
    PaymentSucceeded,
)
from libs.common.contract.registry import make_envelope, topic_name
from libs.common.db import create_engine
from libs.common.delivery import delivery
from libs.common.messaging.kafka import ensure_topic_names
from libs.common.standins.gateway import MessageGateway
from libs.common.standins.portal import NationalPortal
from libs.common.standins.server import serving
from libs.common.testing import AUTH, eventually, running_app, service_database
from services.intake.app import create_app
from services.intake.config import IntakeSettings
from services.intake.integrations.notices import VIETNAM
from services.intake.tests.integrations.test_owner_facts import digitised_payload, reused_payload
from tests.integration.test_intake_lifecycle_events import AGENCY, publish_catalogue

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]

PAYMENT_URL = "https://dichvucong.example.gov.vn/thanh-toan?ma-ho-so={dossier_code}"
PHONE = "0912345678"


def body(notices: bool = True) -> dict[str, Any]:
    return {
        "procedure_code": "1.001193",
        "receiving_agency_code": AGENCY,
        "channel": "online",
        "applicant": {"kind": "person", "id_code": "001204012345", "name": "Nguyễn Văn An"},
        "components": [
            {"code": "GKS", "form": "electronic", "digitised": False},
            {"code": "CCCD", "form": "electronic"},
        ],
        "at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        **({"notices": {"channels": ["sms"], "phone": PHONE}} if notices else {}),
    }


class Owners:
    """Publishes as digitisation and payments do: keyed by dossier code, on their topics."""

    def __init__(self, broker: str, prefix: str) -> None:
        self.broker, self.prefix = broker, prefix
        self.producer = AIOKafkaProducer(bootstrap_servers=broker)

    async def __aenter__(self) -> Owners:
        await self.producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.producer.stop()

    async def send(self, payload: EventPayload, envelope: Envelope | None = None) -> Envelope:
        envelope = envelope or make_envelope(payload, source="/motcua/owner")
        await self.producer.send_and_wait(
            topic_name(self.prefix, payload.topic), envelope.to_bytes(), key=envelope.subject.encode()
        )
        return envelope


def fees(code: str, amount: int) -> FeeAssessed:
    items = [FeeItem(name="Lệ phí đăng ký khai sinh", amount_vnd=amount, kind="charge", payable_online=True)]
    return FeeAssessed(
        dossier_code=code, procedure_code="1.001193", items=items, total_vnd=amount, at=datetime.now(UTC)
    )


def quiet_now() -> str:
    now = datetime.now(VIETNAM)
    return f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"


async def held_notices(url: str, code: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            query = select(delivery).where(delivery.c.idempotency_key.like(f"{code}:fee_due:%"))
            return list((await conn.execute(query)).all())
    finally:
        await engine.dispose()


async def test_owner_facts_reach_the_portal_and_the_fee_notice_the_citizen(
    broker: str, topic_prefix: str, tmp_path: Path
) -> None:
    portal = NationalPortal(hang_seconds=1.0)
    gateway = MessageGateway()
    await publish_catalogue(broker, topic_prefix)
    await ensure_topic_names(
        broker, {topic_name(topic_prefix, t) for t in (DocumentDigitised.topic, FeeAssessed.topic)}
    )
    async with (
        serving(portal.app()) as portal_url,
        serving(gateway.app()) as gateway_url,
        service_database("intake", "postgres", tmp_path) as intake_url,
    ):

        def settings(quiet_hours: str) -> IntakeSettings:
            return IntakeSettings(
                database_url=intake_url,
                kafka_enabled=True,
                topic_prefix=topic_prefix,
                kafka_bootstrap_servers=broker,
                relay_poll_seconds=0.05,
                overdue_check_seconds=0,
                portal_enabled=True,
                portal_base_url=portal_url,
                portal_username=portal.username,
                portal_password=portal.password,
                portal_agency_code=AGENCY,
                sms_enabled=True,
                sms_gateway_url=f"{gateway_url}/sms/send",
                sms_api_key="sms-key",
                sms_brandname="MOTCUA",
                notice_quiet_hours=quiet_hours,
                notice_payment_url=PAYMENT_URL,
                delivery_poll_seconds=0.1,
            )

        async def receive(client: httpx.AsyncClient, notices: bool = True) -> str | None:
            response = await client.post("/dossiers", json=body(notices), headers=AUTH["desk"])
            return str(response.json()["code"]) if response.status_code == 201 else None

        def records(code: str) -> list[dict[str, Any]]:
            return [r for r in portal.received("DongBoHoSoMC") if r["MaHoSo"] == code]

        async with running_app(create_app(settings(quiet_hours=""))) as intake, Owners(broker, topic_prefix) as owners:
            code = await eventually(lambda: receive(intake), timeout=90, what="the catalogue's replica in intake")
            opted_out = await receive(intake)
            assert code is not None and opted_out is not None
            response = await intake.post(f"/dossiers/{opted_out}/notices/opt-out", headers=AUTH["desk"])
            assert response.status_code == 200

            now = datetime.now(UTC)
            await owners.send(digitised_payload(code, "GKS", "GKS", at=now))
            await owners.send(reused_payload(code, "CCCD", at=now))
            assessed = await owners.send(fees(code, 8000))
            await owners.send(fees(code, 8000), envelope=assessed)  # the same event delivered twice
            await owners.send(fees(opted_out, 8000))

            def fee_sms() -> list[dict[str, Any]]:  # the receipts' SMS aside
                return [m for m in gateway.sms if "phí, lệ phí cần nộp" in m["message"]]

            async def sms_sent() -> list[dict[str, Any]] | None:
                return fee_sms() or None

            [sms] = await eventually(sms_sent, timeout=60, what="the fee-due SMS")
            assert sms["phone"] == PHONE and sms["brandname"] == "MOTCUA"
            assert "8.000 đồng" in sms["message"] and f"ma-ho-so={code}" in sms["message"]
            assert "phí, lệ phí" in sms["message"]  # Vietnamese, with its diacritics

            await owners.send(
                PaymentSucceeded(
                    payment_id="P-1",
                    dossier_code=code,
                    procedure_code="1.001193",
                    amount_vnd=8000,
                    channel=PaymentChannel.ONLINE,
                    provider="paygov",
                    at=datetime.now(UTC),
                )
            )

            async def paid_online() -> dict[str, Any] | None:
                found = records(code)
                return found[-1] if found and found[-1]["DuocThanhToanTrucTuyen"] == "1" else None

            last = await eventually(paid_online, timeout=60, what="the record paid online at the portal")
            assert last["TaiLieuNop"] == [
                {"MaThanhPhanHoSo": "GKS", "DuocSoHoa": "1", "DuocLayTuKhoDMQG": "0"},
                {"MaThanhPhanHoSo": "CCCD", "DuocSoHoa": "0", "DuocLayTuKhoDMQG": "1"},
            ]
            assert last["DanhSachLePhi"] == [{"TenPhiLePhi": "Lệ phí đăng ký khai sinh", "SoTien": 8000}]
            # the receipt, then one record per change: digitised, re-used, fees assessed, paid online; every one
            # accepted by the stand-in, which validates it against the schema
            assert [r["DuocThanhToanTrucTuyen"] for r in records(code)] == ["0", "0", "0", "0", "1"]
            assert all(c.status == 200 and c.answer["error_code"] == "00" for c in portal.calls)
            assert fee_sms() == [sms]  # once

            async def opted_out_assessed() -> bool:
                return any(r["DanhSachLePhi"] for r in records(opted_out))

            # the opted-out dossier's assessment was applied (its record went out), and queued no notice
            await eventually(opted_out_assessed, timeout=60, what="the opted-out dossier's assessment")
            assert await held_notices(intake_url, opted_out) == []

        # Quiet hours now: the next assessment's notice waits for their end, while its record still goes out.
        async with (
            running_app(create_app(settings(quiet_hours=quiet_now()))) as intake,
            Owners(broker, topic_prefix) as owners,
        ):
            night = await receive(intake, notices=True)
            assert night is not None
            await owners.send(fees(night, 20000))

            async def assessed_record() -> bool:
                return any(r["DanhSachLePhi"][0]["SoTien"] == 20000 for r in records(night) if r["DanhSachLePhi"])

            await eventually(assessed_record, timeout=60, what="the night's assessment at the portal")
            [held] = await held_notices(intake_url, night)
            not_before = held.not_before if held.not_before.tzinfo else held.not_before.replace(tzinfo=UTC)
            assert held.status == "pending" and not_before > datetime.now(UTC) + timedelta(minutes=50)
            assert fee_sms() == [sms]  # still only the first dossier's
