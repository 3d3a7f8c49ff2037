"""The three notice channels against their stand-ins (SMS/ZNS gateway and SMTP as real local servers), and the
targets built from the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio

from libs.common.delivery import OutcomeKind
from libs.common.settings import ServiceSettings, service_config
from libs.common.standins.gateway import MessageGateway
from libs.common.standins.server import serving
from libs.common.standins.smtp import smtp_server
from libs.common.testing import HeldPort
from services.intake.integrations.channels import SmsGatewaySender, SmtpSender, ZnsSender, international_phone
from services.intake.integrations.notices import NoticeChannel, NoticeKind, NoticeTemplates, QuietHours, notice_delivery
from services.intake.integrations.settings import IntegrationSettings
from services.intake.integrations.targets import delivery_targets

pytestmark = pytest.mark.asyncio
CONTEXT = {
    "dossier_code": "000.00.01.H01-260302-0001",
    "procedure_name": "Đăng ký khai sinh",
    "agency_name": "UBND xã Tân Phú",
    "collect_at": "Bộ phận Một cửa UBND xã Tân Phú",
}
NOON = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def gateway() -> AsyncIterator[tuple[MessageGateway, str]]:
    stand_in = MessageGateway(zns_templates={"2401": {"ma_ho_so", "thu_tuc", "noi_nhan"}}, hang_seconds=2)
    async with serving(stand_in.app()) as base:
        yield stand_in, base


def rendered(channel: NoticeChannel, **extra: object) -> dict[str, object]:
    notice = NoticeTemplates().render(NoticeKind.RESULT_READY, channel, CONTEXT | extra)
    address = "anh@example.vn" if channel is NoticeChannel.EMAIL else "0912345678"
    template_id = "2401" if channel is NoticeChannel.ZALO else None
    return notice_delivery(
        notice,
        address=address,
        dossier_code="D1",
        cause_id="e9",
        now=NOON,
        quiet_hours=QuietHours(),
        zns_template_id=template_id,
    ).payload


async def test_sms(gateway: tuple[MessageGateway, str], http: httpx.AsyncClient) -> None:
    stand_in, base = gateway
    send = SmsGatewaySender(http, url=f"{base}/sms/send", api_key="sms-key", brandname="MOTCUA")
    payload = rendered(NoticeChannel.SMS)
    assert (await send(payload, "result_ready:e9")).kind is OutcomeKind.DELIVERED
    assert stand_in.sms == [
        {
            "brandname": "MOTCUA",
            "phone": "0912345678",
            "message": "Hồ sơ 000.00.01.H01-260302-0001 (Đăng ký khai sinh) đã có kết quả. "
            "Mời Ông/Bà nhận tại Bộ phận Một cửa UBND xã Tân Phú.",
            "request_id": "result_ready:e9",
        }
    ]
    bad_number = await send(payload | {"phone": "12345"}, "k")
    assert (bad_number.kind, bad_number.reason) == (OutcomeKind.PERMANENT, "sms_02")
    stand_in.fail_next(http=503)
    assert (await send(payload, "k")).reason == "http_503"
    wrong_key = await SmsGatewaySender(http, url=f"{base}/sms/send", api_key="x", brandname="MOTCUA")(payload, "k")
    assert (wrong_key.kind, wrong_key.reason) == (OutcomeKind.RETRYABLE, "sms_unauthorised")
    stand_in.fail_next(hang=True)
    with pytest.raises(httpx.ReadTimeout):  # the worker reads this as a retryable "timeout"
        await send(payload, "k")


async def test_zalo_zns(gateway: tuple[MessageGateway, str], http: httpx.AsyncClient) -> None:
    stand_in, base = gateway
    send = ZnsSender(http, url=f"{base}/zns/message/template", access_token="zalo-token")
    payload = rendered(NoticeChannel.ZALO)
    assert (await send(payload, "result_ready:e9")).kind is OutcomeKind.DELIVERED
    [sent] = stand_in.zns
    assert sent["phone"] == "84912345678" and sent["tracking_id"] == "result_ready:e9"
    assert sent["template_data"]["noi_nhan"] == "Bộ phận Một cửa UBND xã Tân Phú"
    missing = await send(payload | {"template_data": {"ma_ho_so": "x"}}, "k")
    assert (missing.kind, missing.reason) == (OutcomeKind.PERMANENT, "zns_-1123")
    expired = await ZnsSender(http, url=f"{base}/zns/message/template", access_token="old")(payload, "k")
    assert (expired.kind, expired.reason) == (OutcomeKind.RETRYABLE, "zns_-124")
    assert international_phone("091 234 5678") == "84912345678"


async def test_email() -> None:
    payload = rendered(NoticeChannel.EMAIL)
    with smtp_server() as server:
        send = SmtpSender(host=server.host, port=server.port, sender="motcua@tanphu.gov.vn")
        assert (await send(payload, "result_ready:e9")).kind is OutcomeKind.DELIVERED
        [received] = server.messages
        assert received.envelope_to == ["anh@example.vn"]
        assert received.message["Subject"] == "Hồ sơ 000.00.01.H01-260302-0001 đã có kết quả"
        assert "Mời Ông/Bà nhận kết quả tại: Bộ phận Một cửa UBND xã Tân Phú." in received.message.get_content()
        assert received.message["Message-ID"] == send.message(payload, "result_ready:e9")["Message-ID"]
        server.refuse = 550
        refused = await send(payload, "k")
        assert (refused.kind, refused.reason) == (OutcomeKind.PERMANENT, "smtp_550")
        server.refuse = 451
        assert (await send(payload, "k")).kind is OutcomeKind.RETRYABLE
    with HeldPort() as held:  # bound, never listening: connections are refused
        nobody = await SmtpSender(host="127.0.0.1", port=held.port, sender="m@x.vn", timeout_seconds=2)(payload, "k")
    assert (nobody.kind, nobody.reason) == (OutcomeKind.RETRYABLE, "smtp_unreachable")


class Settings(ServiceSettings, IntegrationSettings):
    model_config = service_config("intake")


async def test_targets_from_settings(monkeypatch: pytest.MonkeyPatch, http: httpx.AsyncClient) -> None:
    assert delivery_targets(Settings(), http) == [], "every integration is off by default"
    monkeypatch.setenv("MOTCUA_INTAKE_PORTAL_ENABLED", "true")
    monkeypatch.setenv("MOTCUA_INTAKE_SMS_ENABLED", "true")
    monkeypatch.setenv("MOTCUA_INTAKE_SMS_RATE_PER_SECOND", "3")
    monkeypatch.setenv("MOTCUA_INTAKE_ZALO_TEMPLATE_IDS", '{"receipt": "2401"}')
    settings = Settings()
    assert settings.zalo_template_ids == {"receipt": "2401"}
    targets = {t.name: t for t in delivery_targets(settings, http)}
    assert set(targets) == {"national_portal", "notice_sms"}
    assert (targets["notice_sms"].rate_per_second, targets["notice_sms"].burst) == (3, 3)
    monkeypatch.setenv("MOTCUA_ENV", "production")
    monkeypatch.setenv("MOTCUA_PSEUDONYM_KEY", "a-real-one")
    monkeypatch.setenv("MOTCUA_API_KEYS", '{"t": {"subject": "ops", "roles": ["ops"]}}')
    with pytest.raises(ValueError, match="PORTAL_PASSWORD"):
        Settings()
