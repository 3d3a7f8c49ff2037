"""Notice templates (Vietnamese, overridable by a province), quiet hours, one notice per event per channel, consent."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from services.intake.integrations.notices import (
    SAMPLE_CONTEXT,
    VIETNAM,
    NoticeChannel,
    NoticeConsent,
    NoticeKind,
    NoticeTemplateError,
    NoticeTemplates,
    QuietHours,
    notice_delivery,
    parse_quiet_hours,
    vn_datetime,
    vnd,
)

TEMPLATES = NoticeTemplates()
RECEIPT = {
    "dossier_code": "000.00.01.H01-260302-0001",
    "procedure_name": "Đăng ký khai sinh",
    "agency_name": "UBND xã Tân Phú",
    "applicant_name": "Nguyễn Thị Ánh",
    "received_at": datetime(2026, 3, 2, 2, 15, tzinfo=UTC),
    "due_at": datetime(2026, 3, 5, 3, 0, tzinfo=UTC),
    "lookup_url": "https://dvc.example.gov.vn/tra-cuu",
}


def test_receipt_sms_in_vietnamese_with_diacritics() -> None:
    notice = TEMPLATES.render(NoticeKind.RECEIPT, NoticeChannel.SMS, RECEIPT)
    assert notice.text == (
        "UBND xã Tân Phú đã tiếp nhận hồ sơ 000.00.01.H01-260302-0001 (Đăng ký khai sinh). "
        "Hẹn trả kết quả: 10:00 ngày 05/03/2026. Tra cứu: https://dvc.example.gov.vn/tra-cuu"
    )
    without_link = TEMPLATES.render(NoticeKind.RECEIPT, NoticeChannel.SMS, RECEIPT | {"lookup_url": None})
    assert without_link.text.endswith("Hẹn trả kết quả: 10:00 ngày 05/03/2026.")


def test_receipt_email() -> None:
    notice = TEMPLATES.render(NoticeKind.RECEIPT, NoticeChannel.EMAIL, RECEIPT)
    assert notice.subject == "Tiếp nhận hồ sơ 000.00.01.H01-260302-0001"
    assert notice.text.startswith("Kính gửi Ông/Bà Nguyễn Thị Ánh,\n\nUBND xã Tân Phú đã tiếp nhận hồ sơ của Ông/Bà.")
    assert "Thời điểm tiếp nhận: 09:15 ngày 02/03/2026" in notice.text
    assert "tra cứu tình trạng hồ sơ tại: https://dvc.example.gov.vn/tra-cuu" in notice.text


def test_other_kinds() -> None:
    supplement = TEMPLATES.render(
        NoticeKind.SUPPLEMENT_REQUEST,
        NoticeChannel.SMS,
        RECEIPT | {"missing": ["Bản sao giấy chứng nhận kết hôn", "Giấy chứng sinh"]},
    )
    assert "cần bổ sung: Bản sao giấy chứng nhận kết hôn; Giấy chứng sinh." in supplement.text
    fee = TEMPLATES.render(NoticeKind.FEE_DUE, NoticeChannel.SMS, RECEIPT | {"amount": 1250000, "payment_url": "u"})
    assert "phí, lệ phí cần nộp 1.250.000 đồng. Thanh toán trực tuyến: u" in fee.text
    apology = TEMPLATES.render(
        NoticeKind.APOLOGY,
        NoticeChannel.EMAIL,
        RECEIPT | {"reason": "cần xác minh thêm", "new_due_at": datetime(2026, 3, 9, 10, tzinfo=VIETNAM)},
    )
    assert "Lý do: cần xác minh thêm\nThời hạn trả kết quả mới: 10:00 ngày 09/03/2026" in apology.text
    ready = TEMPLATES.render(NoticeKind.RESULT_READY, NoticeChannel.ZALO, RECEIPT | {"collect_at": "Quầy số 3"})
    assert ready.template_data == {
        "ma_ho_so": "000.00.01.H01-260302-0001",
        "thu_tuc": "Đăng ký khai sinh",
        "noi_nhan": "Quầy số 3",
    }


def test_every_kind_renders_on_every_channel() -> None:
    TEMPLATES.check()
    for kind in NoticeKind:
        assert SAMPLE_CONTEXT["dossier_code"] in TEMPLATES.render(kind, NoticeChannel.SMS, SAMPLE_CONTEXT).text


def test_a_missing_value_fails_loudly() -> None:
    without_due = {k: v for k, v in RECEIPT.items() if k != "due_at"}
    with pytest.raises(NoticeTemplateError, match="due_at"):
        TEMPLATES.render(NoticeKind.RECEIPT, NoticeChannel.SMS, without_due)


def test_a_province_overrides_a_template_without_a_release(tmp_path: Path) -> None:
    (tmp_path / "sms").mkdir()
    (tmp_path / "sms" / "receipt.txt.j2").write_text(
        "Tỉnh Đồng Nai: hồ sơ {{ dossier_code }} hẹn trả {{ due_at | vn_datetime }}.", encoding="utf-8"
    )
    province = NoticeTemplates(tmp_path)
    assert province.render(NoticeKind.RECEIPT, NoticeChannel.SMS, RECEIPT).text == (
        "Tỉnh Đồng Nai: hồ sơ 000.00.01.H01-260302-0001 hẹn trả 10:00 ngày 05/03/2026."
    )
    default_email = TEMPLATES.render(NoticeKind.RECEIPT, NoticeChannel.EMAIL, RECEIPT)
    assert province.render(NoticeKind.RECEIPT, NoticeChannel.EMAIL, RECEIPT) == default_email
    province.check()
    (tmp_path / "sms" / "apology.txt.j2").write_text("{{ ly_do_khong_co }}", encoding="utf-8")
    with pytest.raises(NoticeTemplateError, match=r"sms/apology.*ly_do_khong_co"):
        NoticeTemplates(tmp_path).check()


def test_formats() -> None:
    assert vnd(8000) == "8.000 đồng"
    assert vn_datetime(datetime(2026, 12, 31, 17, 5, tzinfo=UTC)) == "00:05 ngày 01/01/2027"
    with pytest.raises(ValueError):
        vn_datetime(datetime(2026, 1, 1, 8, 0))


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 3, 2, 22, 30), datetime(2026, 3, 3, 7, 0)),
        (datetime(2026, 3, 2, 21, 0), datetime(2026, 3, 3, 7, 0)),
        (datetime(2026, 3, 2, 3, 0), datetime(2026, 3, 2, 7, 0)),
        (datetime(2026, 3, 2, 6, 59), datetime(2026, 3, 2, 7, 0)),
        (datetime(2026, 3, 2, 7, 0), None),
        (datetime(2026, 3, 2, 12, 0), None),
        (datetime(2026, 3, 2, 20, 59), None),
        (datetime(2026, 12, 31, 23, 0), datetime(2027, 1, 1, 7, 0)),
    ],
)
def test_quiet_hours_hold_a_notice_to_the_morning(local: datetime, expected: datetime | None) -> None:
    now = local.replace(tzinfo=VIETNAM).astimezone(UTC)
    result = QuietHours().not_before(now)
    assert result == (expected.replace(tzinfo=VIETNAM) if expected else None)


def test_quiet_hours_settings() -> None:
    assert parse_quiet_hours("22:00-06:30") == QuietHours(time(22, 0), time(6, 30))
    off = parse_quiet_hours("")
    assert off.not_before(datetime(2026, 3, 2, 16, 0, tzinfo=UTC)) is None  # 23:00 in Vietnam
    lunch = QuietHours(time(11, 30), time(13, 30))  # a window that does not cross midnight
    assert lunch.not_before(datetime(2026, 3, 2, 5, 0, tzinfo=UTC)) == datetime(2026, 3, 2, 13, 30, tzinfo=VIETNAM)
    assert lunch.not_before(datetime(2026, 3, 2, 7, 0, tzinfo=UTC)) is None


def test_notice_deliveries_one_per_event_per_channel_and_sms_waits_for_morning() -> None:
    night = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 23:00 in Vietnam
    sms = TEMPLATES.render(NoticeKind.RECEIPT, NoticeChannel.SMS, RECEIPT)
    email = TEMPLATES.render(NoticeKind.RECEIPT, NoticeChannel.EMAIL, RECEIPT)
    zalo = TEMPLATES.render(NoticeKind.RECEIPT, NoticeChannel.ZALO, RECEIPT)
    quiet = QuietHours()
    by_sms = notice_delivery(sms, address="0912345678", dossier_code="D1", cause_id="e1", now=night, quiet_hours=quiet)
    by_email = notice_delivery(
        email, address="anh@example.vn", dossier_code="D1", cause_id="e1", now=night, quiet_hours=quiet
    )
    by_zalo = notice_delivery(
        zalo,
        address="0912345678",
        dossier_code="D1",
        cause_id="e1",
        now=night,
        quiet_hours=quiet,
        zns_template_id="2401",
    )
    assert (by_sms.target, by_email.target, by_zalo.target) == ("notice_sms", "notice_email", "notice_zalo")
    assert by_sms.idempotency_key == by_email.idempotency_key == "D1:receipt:e1"
    assert by_sms.not_before == by_zalo.not_before == datetime(2026, 3, 3, 7, 0, tzinfo=VIETNAM)
    assert by_email.not_before is None
    assert by_sms.payload == {"phone": "0912345678", "text": sms.text}
    assert by_email.payload == {"to": "anh@example.vn", "subject": email.subject, "text": email.text}
    assert by_zalo.payload["template_id"] == "2401"
    with pytest.raises(NoticeTemplateError, match="template id"):
        notice_delivery(zalo, address="0912345678", dossier_code="D1", cause_id="e1", now=night, quiet_hours=quiet)


def test_consent_and_opt_out() -> None:
    consent = NoticeConsent(phone="0912345678", email="anh@example.vn", sms=True, by_email=True)
    assert consent.channels() == [(NoticeChannel.SMS, "0912345678"), (NoticeChannel.EMAIL, "anh@example.vn")]
    assert NoticeConsent(phone="0912345678", sms=True, zalo=True, withdrawn=True).channels() == []
    assert NoticeConsent(sms=True).channels() == [], "no number, no SMS"
    assert NoticeConsent(phone="0912345678").channels() == [], "a number given is not consent"
