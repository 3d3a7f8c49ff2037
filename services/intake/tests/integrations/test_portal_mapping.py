"""DongBoHoSoMC and CapNhatTienDoHoSoMC records: field mapping, Vietnam-time dates, codes from the mapping table,
and validity against docs/contract/national-portal.schema.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from libs.common.standins.portal import schema_errors
from services.intake.integrations.portal import (
    VIETNAM,
    DossierSnapshot,
    FeeLine,
    PortalCodes,
    ProgressStep,
    ResultDocument,
    SubmittedDocument,
    SupplementRequest,
    UnmappedValue,
    dossier_record,
    portal_time,
    progress_record,
    sync_dossier,
    sync_progress,
)

CODES = PortalCodes.load()


def dossier(**changes: object) -> DossierSnapshot:
    values: dict[str, object] = {
        "code": "000.00.01.H01-260302-0001",
        "procedure_code": "1.001193",
        "procedure_name": "Đăng ký khai sinh",
        "sector_code": "HTCT",
        "sector_name": "Hộ tịch",
        "applicant_name": "Nguyễn Thị Ánh",
        "applicant_kind": "person",
        "applicant_id_number": "001190012345",
        "received_at": datetime(2026, 3, 2, 2, 15, 30, tzinfo=UTC),
        "due_at": datetime(2026, 3, 5, 10, 0, tzinfo=VIETNAM),
        "status": "received",
        "channel": "online",
    }
    return DossierSnapshot(**(values | changes))  # type: ignore[arg-type]


def step(**changes: object) -> ProgressStep:
    values: dict[str, object] = {
        "dossier_code": "000.00.01.H01-260302-0001",
        "handler_name": "Trần Văn Bình",
        "handler_title": "Công chức tư pháp - hộ tịch",
        "handled_at": datetime(2026, 3, 3, 8, 5, tzinfo=UTC),
        "department": "UBND xã Tân Phú",
        "action": "Chuyển hồ sơ cho lãnh đạo phê duyệt",
        "status": "in_progress",
        "started_at": datetime(2026, 3, 2, 2, 15, 30, tzinfo=UTC),
        "due_at": datetime(2026, 3, 5, 10, 0, tzinfo=VIETNAM),
    }
    return ProgressStep(**(values | changes))  # type: ignore[arg-type]


def test_portal_time_is_vietnam_time_on_the_24_hour_clock() -> None:
    assert portal_time(datetime(2026, 3, 2, 17, 30, 5, tzinfo=UTC)) == "20260303003005"
    assert portal_time(datetime(2026, 3, 2, 14, 0, tzinfo=VIETNAM)) == "20260302140000"
    with pytest.raises(ValueError):
        portal_time(datetime(2026, 3, 2, 14, 0))


def test_a_received_dossier() -> None:
    record = dossier_record(dossier(), CODES)
    assert schema_errors("DongBoHoSoMC", record) == []
    assert record == {
        "MaHoSo": "000.00.01.H01-260302-0001",
        "MaTTHC": "1.001193",
        "TenTTHC": "Đăng ký khai sinh",
        "MaLinhVuc": "HTCT",
        "TenLinhVuc": "Hộ tịch",
        "ChuHoSo": "Nguyễn Thị Ánh",
        "LoaiDoiTuong": "1",
        "MaDoiTuong": "001190012345",
        "NgayTiepNhan": "20260302091530",
        "NgayHenTra": "20260305100000",
        "TrangThaiHoSo": "2",
        "KenhThucHien": "2",
        "TaiLieuNop": [],
        "DanhSachLePhi": [],
        "DanhSachHoSoBoSung": [],
        "DanhSachGiayToKetQua": [],
        "DuocThanhToanTrucTuyen": "0",
        "TaiKhoanDuocXacThucVoiVNeID": "0",
    }


def test_a_returned_dossier_with_everything() -> None:
    record = dossier_record(
        dossier(
            applicant_kind="organisation",
            channel="counter",
            status="returned",
            resolved_at=datetime(2026, 3, 4, 9, 0, tzinfo=UTC),
            returned_at=datetime(2026, 3, 4, 10, 30, tzinfo=UTC),
            documents=(
                SubmittedDocument("TP1", "Tờ khai đăng ký khai sinh", digitised=True),
                SubmittedDocument("TP2", from_national_database=True),
            ),
            fees=(FeeLine("Lệ phí đăng ký khai sinh", 8000, "LP01"),),
            paid_online=True,
            supplements=(
                SupplementRequest(
                    datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
                    "Bản sao giấy chứng nhận kết hôn",
                    received_at=datetime(2026, 3, 3, 1, 0, tzinfo=UTC),
                ),
            ),
            results=(ResultDocument("Giấy khai sinh", "123/2026"),),
            vneid_verified=True,
        ),
        CODES,
    )
    assert schema_errors("DongBoHoSoMC", record) == []
    assert (record["LoaiDoiTuong"], record["KenhThucHien"], record["TrangThaiHoSo"]) == ("2", "1", "10")
    assert (record["NgayKetThucXuLy"], record["NgayTra"]) == ("20260304160000", "20260304173000")
    assert record["TaiLieuNop"] == [
        {
            "MaThanhPhanHoSo": "TP1",
            "TenTepDinhKem": "Tờ khai đăng ký khai sinh",
            "DuocSoHoa": "1",
            "DuocLayTuKhoDMQG": "0",
        },
        {"MaThanhPhanHoSo": "TP2", "DuocSoHoa": "0", "DuocLayTuKhoDMQG": "1"},
    ]
    fee = {"MaPhiLePhi": "LP01", "TenPhiLePhi": "Lệ phí đăng ký khai sinh", "SoTien": 8000}
    assert record["DanhSachLePhi"] == [fee]
    assert record["DanhSachHoSoBoSung"] == [
        {
            "NgayYeuCauBoSung": "20260302150000",
            "NoiDungBoSung": "Bản sao giấy chứng nhận kết hôn",
            "NgayTiepNhanBoSung": "20260303080000",
        }
    ]
    assert record["DanhSachGiayToKetQua"] == [{"MaGiayToKetQua": "123/2026", "TenGiayTo": "Giấy khai sinh"}]
    assert (record["DuocThanhToanTrucTuyen"], record["TaiKhoanDuocXacThucVoiVNeID"]) == ("1", "1")


def test_a_progress_step() -> None:
    record = progress_record(step(), CODES)
    assert schema_errors("CapNhatTienDoHoSoMC", record) == []
    assert record == {
        "MaHoSo": "000.00.01.H01-260302-0001",
        "NguoiXuLy": "Trần Văn Bình",
        "ChucDanh": "Công chức tư pháp - hộ tịch",
        "ThoiDiemXuLy": "20260303150500",
        "PhongBanXuLy": "UBND xã Tân Phú",
        "NoiDungXuLy": "Chuyển hồ sơ cho lãnh đạo phê duyệt",
        "TrangThai": "4",
        "NgayBatDau": "20260302091530",
        "NgayKetThucTheoQuyDinh": "20260305100000",
    }
    assert "ChucDanh" not in progress_record(step(handler_title=None), CODES)


def test_the_schema_catches_what_a_wrong_mapping_would_send() -> None:
    record = dossier_record(dossier(), CODES) | {"NgayHenTra": "05/03/2026 10:00", "LoaiDoiTuong": "person"}
    assert [e.split(":")[0] for e in schema_errors("DongBoHoSoMC", record)] == ["LoaiDoiTuong", "NgayHenTra"]


STATUSES = ["received", "in_progress", "awaiting_supplement", "resolved", "returned", "refused", "withdrawn", "stopped"]


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_of_a_dossier_has_a_default_code(status: str) -> None:
    assert CODES.code("status", status)


def test_a_province_overrides_codes_entry_by_entry(tmp_path: Path) -> None:
    override = tmp_path / "codes.json"
    override.write_text(json.dumps({"status": {"received": "1"}, "channel": {"postal": "4"}}), encoding="utf-8")
    codes = PortalCodes.load(override)
    assert (codes.code("status", "received"), codes.code("status", "resolved")) == ("1", "9")
    assert (codes.code("channel", "postal"), codes.code("channel", "online")) == ("4", "2")
    with pytest.raises(UnmappedValue) as raised:
        codes.code("status", "archived")
    assert (raised.value.table, raised.value.value) == ("status", "archived")


def test_deliveries_are_one_per_event_and_ordered_by_dossier() -> None:
    record = sync_dossier(dossier(), CODES, cause_id="e1")
    progress = sync_progress(step(), CODES, cause_id="e2")
    assert record.idempotency_key == "DongBoHoSoMC:000.00.01.H01-260302-0001:e1"
    assert progress.idempotency_key == "CapNhatTienDoHoSoMC:000.00.01.H01-260302-0001:e2"
    assert record.target == progress.target == "national_portal"
    assert record.ordering_key == progress.ordering_key == "000.00.01.H01-260302-0001"
    assert record.payload["service"] == "DongBoHoSoMC" and progress.payload["service"] == "CapNhatTienDoHoSoMC"
