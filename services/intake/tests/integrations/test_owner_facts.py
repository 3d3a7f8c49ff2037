"""Digitisation's and payments' events in intake (consumer ``intake-owners``): the facts they fold into, the portal's
record sent again when they change it, and the fee-due notice with the other notices' rules. The consumer runner is
fed records directly (no broker), so the inbox is the real one; SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from libs.common.clock import FrozenClock
from libs.common.contract import (
    DocumentDigitised,
    DocumentReused,
    Envelope,
    EventPayload,
    FeeAssessed,
    FeeItem,
    PaymentChannel,
    PaymentRefunded,
    PaymentSucceeded,
    make_envelope,
)
from libs.common.db import create_engine
from libs.common.messaging.consumer import ConsumerRunner, Message
from libs.common.testing import AUTH, running_app
from services.intake.app import create_app
from services.intake.config import IntakeSettings
from services.intake.consumers import OWNERS_CONSUMER, OwnerEventsContext, owner_event_handlers
from services.intake.integrations import owner_facts as rules
from services.intake.integrations.notices import VIETNAM
from services.intake.integrations.outbound import Outbound, payment_link
from services.intake.integrations.portal import SYNC_DOSSIER
from services.intake.tests.integrations.test_wiring import integration_settings, rows
from services.intake.tests.support import dossier, send

PAYMENT_URL = "https://dichvucong.example.gov.vn/thanh-toan?ma-ho-so={dossier_code}"
CONSENT = {"channels": ["sms"], "phone": "0912345678"}
# Tomorrow in Vietnam (the delivery table never holds a notice back to a time already past, so the handlers' clock
# is set ahead of the real one): 10:00, 23:00, and the morning after.
TOMORROW = (datetime.now(VIETNAM) + timedelta(days=1)).date()
DAY = datetime.combine(TOMORROW, time(10, 0), VIETNAM)
HOLDER = "k1:" + "0" * 64  # a holder's pseudonym: intake never reads it
NIGHT = datetime.combine(TOMORROW, time(23, 0), VIETNAM)
MORNING = datetime.combine(TOMORROW + timedelta(days=1), time(7, 0), VIETNAM)


def facts_settings(url: str, **changes: Any) -> IntakeSettings:
    values: dict[str, Any] = {
        "portal_enabled": True,
        "sms_enabled": True,
        "sms_brandname": "MOTCUA",
        "sms_api_key": "sms-key",
        "notice_payment_url": PAYMENT_URL,
    }
    values.update(changes)
    return integration_settings(url, **values)


class Feed:
    """Intake's ``intake-owners`` consumer without a broker: records go through the runner's inbox and contract
    check, then the handlers, in one transaction per batch."""

    def __init__(self, settings: IntakeSettings, clock: FrozenClock) -> None:
        ctx = OwnerEventsContext()
        ctx.bind(Outbound.from_settings(settings), clock)
        self.engine = create_engine(settings.database_url)
        self.runner = ConsumerRunner(
            name=OWNERS_CONSUMER,
            engine=self.engine,
            handler=owner_event_handlers(ctx),
            topics=["t"],
            bootstrap_servers="unused:1",
        )
        self.offset = 0

    async def send(self, *envelopes: Envelope) -> None:
        messages = []
        for envelope in envelopes:
            messages.append(Message("t", 0, self.offset, envelope.subject.encode(), envelope.to_bytes()))
            self.offset += 1
        await self.runner.process(messages)

    async def close(self) -> None:
        await self.engine.dispose()


def event(payload: EventPayload) -> Envelope:
    return make_envelope(payload, source="/motcua/test", at=DAY)


# The documents' own id (digitisation's holder reference) is not read by intake: these two are the one place tests
# name it, should its shape change.
def digitised_payload(
    code: str | None, type_code: str, component: str | None = None, at: datetime = DAY
) -> DocumentDigitised:
    return DocumentDigitised(
        holder_pseudonym=HOLDER, type_code=type_code, dossier_code=code, component_code=component, at=at
    )


def reused_payload(code: str, component: str, at: datetime = DAY) -> DocumentReused:
    return DocumentReused(
        holder_pseudonym=HOLDER, type_code=component, dossier_code=code, component_code=component, at=at
    )


def assessed(code: str, *amounts: int, at: datetime = DAY) -> Envelope:
    items = [FeeItem(name=f"Lệ phí {i + 1}", amount_vnd=a, kind="charge") for i, a in enumerate(amounts)]
    return event(FeeAssessed(dossier_code=code, procedure_code="1.001193", items=items, total_vnd=sum(amounts), at=at))


def paid(code: str, payment_id: str, amount: int, channel: PaymentChannel = PaymentChannel.ONLINE) -> Envelope:
    return event(
        PaymentSucceeded(
            payment_id=payment_id,
            dossier_code=code,
            procedure_code="1.001193",
            amount_vnd=amount,
            channel=channel,
            at=DAY,
        )
    )


def records(found: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(r.payload)["record"] for r in found if json.loads(r.payload)["service"] == SYNC_DOSSIER]


async def receive(url: str, settings: IntakeSettings, **changes: Any) -> str:
    async with running_app(create_app(settings)) as client:
        response = await client.post("/dossiers", json=dossier(**changes), headers=AUTH["desk"])
        assert response.status_code == 201, response.text
        return str(response.json()["code"])


class TestRules:
    def test_documents_fees_and_online_payment_fold(self) -> None:
        facts = rules.digitised(rules.OwnerFacts(), "GKS")
        facts = rules.reused(facts, "UQ")
        facts = rules.assessed(facts, [rules.AssessedFee("Lệ phí", 8000)], 8000)
        assert facts.documents == {"GKS": rules.DocumentFact(digitised=True), "UQ": rules.DocumentFact(reused=True)}
        assert facts.outstanding_vnd() == 8000 and not facts.paid_online
        facts = rules.payment_succeeded(facts, "P1", "online", 8000)
        assert facts.paid_online and facts.outstanding_vnd() == 0
        assert rules.payment_succeeded(facts, "P1", "online", 8000) == facts  # the same payment twice
        refunded = rules.payment_refunded(facts, "P1", 8000)
        assert not refunded.paid_online and refunded.outstanding_vnd() == 8000  # wholly refunded: not paid online
        assert rules.payment_refunded(facts, "P9", 100) == facts  # a payment never seen to succeed
        again = rules.assessed(facts, [rules.AssessedFee("Lệ phí", 10000)], 10000)  # re-assessment replaces
        assert again.fees == (rules.AssessedFee("Lệ phí", 10000),) and again.outstanding_vnd() == 2000
        assert rules.from_columns(**_columns(refunded)) == refunded

    def test_a_counter_payment_is_not_paid_online(self) -> None:
        assert not rules.payment_succeeded(rules.OwnerFacts(), "P1", "counter", 8000).paid_online

    def test_payment_url_must_name_the_dossier(self) -> None:
        with pytest.raises(ValidationError, match="dossier_code"):
            IntakeSettings(notice_payment_url="https://pay.example.vn/")
        assert payment_link(PAYMENT_URL, "000.00.00.H56-260302-0001").endswith("ma-ho-so=000.00.00.H56-260302-0001")
        assert payment_link("https://p.vn/{dossier_code}", "A/B C") == "https://p.vn/A%2FB%20C"


def _columns(facts: rules.OwnerFacts) -> dict[str, Any]:
    stored: dict[str, Any] = json.loads(json.dumps(rules.to_columns(facts)))  # as the JSON columns give it back
    return stored


@pytest.mark.asyncio
class TestPortalFields:
    async def test_events_resynchronise_the_record_only_when_it_changes(self, intake_url: str) -> None:
        settings = facts_settings(intake_url, sms_enabled=False)
        components = [
            {"code": "GKS", "form": "electronic", "digitised": False},
            {"code": "UQ", "form": "electronic"},
        ]
        code = await receive(intake_url, settings, components=components)
        feed = Feed(settings, FrozenClock(DAY))
        try:
            await feed.send(
                event(digitised_payload(code, "GKS")),
                event(reused_payload(code, "UQ")),
            )
            await feed.send(assessed(code, 8000))
            await feed.send(paid(code, "P1", 8000))
            # no change to the record: digitised again, a document of no dossier, the same payment again
            await feed.send(
                event(digitised_payload(code, "GKS", "GKS")),
                event(digitised_payload(None, "GKS")),
                paid(code, "P1", 8000),
            )
        finally:
            await feed.close()
        sent = records(await rows(intake_url))
        assert len(sent) == 5  # the receipt, then one per change (the two documents, the fees, the payment)
        first, last = sent[0], sent[-1]
        assert first["TaiLieuNop"] == [
            {"MaThanhPhanHoSo": "GKS", "DuocSoHoa": "0", "DuocLayTuKhoDMQG": "0"},
            {"MaThanhPhanHoSo": "UQ", "DuocSoHoa": "0", "DuocLayTuKhoDMQG": "0"},
        ]
        assert first["DanhSachLePhi"] == [{"TenPhiLePhi": "Phí, lệ phí", "SoTien": 8000}]  # due at receipt
        assert last["TaiLieuNop"] == [
            {"MaThanhPhanHoSo": "GKS", "DuocSoHoa": "1", "DuocLayTuKhoDMQG": "0"},
            {"MaThanhPhanHoSo": "UQ", "DuocSoHoa": "0", "DuocLayTuKhoDMQG": "1"},
        ]
        assert last["DanhSachLePhi"] == [{"TenPhiLePhi": "Lệ phí 1", "SoTien": 8000}]
        assert [r["DuocThanhToanTrucTuyen"] for r in sent] == ["0", "0", "0", "0", "1"]

    async def test_facts_before_the_receipt_are_in_its_record(self, intake_url: str) -> None:
        settings = facts_settings(intake_url, sms_enabled=False)
        feed = Feed(settings, FrozenClock(DAY))
        # the dossier's code is known before its receipt commits only for an imported code; any code will do here
        code = "000.00.00.H56-260302-0077"
        try:
            await feed.send(event(reused_payload(code, "GKS")))
            assert await rows(intake_url) == []  # no dossier yet: nothing to synchronise
        finally:
            await feed.close()
        async with running_app(create_app(settings)) as client:
            response = await client.post("/imports/dossiers", json=[dossier(code=code)], headers=AUTH["ops"])
            assert response.json()["accepted"] == 1, response.text
            assert (await send(client, code, "transfer")).status_code == 200
            assert (await send(client, code, "request_supplement")).status_code == 200
        # every record of the dossier sent after its receipt carries the fact recorded before it
        sent = records(await rows(intake_url))
        assert sent and all(
            r["TaiLieuNop"][0] == {"MaThanhPhanHoSo": "GKS", "DuocSoHoa": "1", "DuocLayTuKhoDMQG": "1"} for r in sent
        )

    async def test_a_refund_of_the_online_payment_is_sent(self, intake_url: str) -> None:
        settings = facts_settings(intake_url, sms_enabled=False)
        code = await receive(intake_url, settings)
        feed = Feed(settings, FrozenClock(DAY))
        try:
            await feed.send(assessed(code, 8000), paid(code, "P1", 8000))
            await feed.send(
                event(PaymentRefunded(payment_id="P1", dossier_code=code, amount_vnd=8000, reason="r", at=DAY))
            )
        finally:
            await feed.close()
        assert [r["DuocThanhToanTrucTuyen"] for r in records(await rows(intake_url))][-2:] == ["1", "0"]


@pytest.mark.asyncio
class TestFeeDueNotice:
    async def test_once_per_assessment_with_amount_and_link(self, intake_url: str) -> None:
        settings = facts_settings(intake_url, portal_enabled=False, notice_quiet_hours="21:00-07:00")
        code = await receive(intake_url, settings, notices=CONSENT)
        feed = Feed(settings, FrozenClock(DAY))
        try:
            fees = assessed(code, 50000, 1_200_000)
            await feed.send(fees)
            await feed.send(fees)  # redelivered: the inbox skips it
        finally:
            await feed.close()
        notices = [r for r in await rows(intake_url) if r.idempotency_key.split(":")[1] == "fee_due"]
        assert len(notices) == 1
        [notice] = notices
        text = json.loads(notice.payload)["text"]
        assert "1.250.000 đồng" in text and "phí, lệ phí cần nộp" in text
        assert payment_link(PAYMENT_URL, code) in text
        assert notice.not_before.replace(tzinfo=UTC) <= DAY  # by day: at once

    async def test_at_night_it_waits_for_the_morning(self, intake_url: str) -> None:
        settings = facts_settings(intake_url, portal_enabled=False, notice_quiet_hours="21:00-07:00")
        code = await receive(intake_url, settings, notices=CONSENT)
        feed = Feed(settings, FrozenClock(NIGHT))
        try:
            await feed.send(assessed(code, 8000))
        finally:
            await feed.close()
        [notice] = [r for r in await rows(intake_url) if ":fee_due:" in r.idempotency_key]
        assert notice.not_before.replace(tzinfo=UTC) == MORNING

    async def test_not_after_opt_out_nor_without_consent_nor_when_paid_nor_read_late(self, intake_url: str) -> None:
        settings = facts_settings(intake_url, portal_enabled=False, notice_quiet_hours="")
        opted = await receive(intake_url, settings, notices=CONSENT)
        silent = await receive(intake_url, settings)
        settled = await receive(intake_url, settings, notices=CONSENT)
        stale = await receive(intake_url, settings, notices=CONSENT)
        async with running_app(create_app(settings)) as client:
            assert (await client.post(f"/dossiers/{opted}/notices/opt-out", headers=AUTH["desk"])).status_code == 200
        feed = Feed(settings, FrozenClock(DAY))
        try:
            await feed.send(paid(settled, "P1", 8000, PaymentChannel.COUNTER))  # paid before the assessment arrived
            await feed.send(assessed(opted, 8000), assessed(silent, 8000), assessed(settled, 8000))
            # read two days late (first start, long outage): its payment may be the next event still unread
            await feed.send(assessed(stale, 8000, at=DAY - timedelta(days=2)))
        finally:
            await feed.close()
        assert [r for r in await rows(intake_url) if ":fee_due:" in r.idempotency_key] == []
