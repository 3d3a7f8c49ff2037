"""What intake sends to the national public-service portal: ``DongBoHoSoMC`` (a dossier's record) and
``CapNhatTienDoHoSoMC`` (one processing step), as plain functions of plain snapshots.

Field meanings and the code tables: docs/integrations.md. Times go out as ``yyyyMMddHHmmss`` on the 24-hour clock in
Vietnam's time zone, whatever zone they are held in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_CODES_PATH = Path(__file__).with_name("portal_codes.json")
PORTAL_TARGET = "national_portal"
SYNC_DOSSIER = "DongBoHoSoMC"
SYNC_PROGRESS = "CapNhatTienDoHoSoMC"


def portal_time(at: datetime) -> str:
    """``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh (24-hour clock)."""
    if at.tzinfo is None:
        raise ValueError("portal_time needs an aware datetime")
    return at.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def _flag(value: bool) -> str:
    return "1" if value else "0"


class UnmappedValue(KeyError):
    """A value with no portal code in the mapping table: a configuration gap, not a fault of the dossier."""

    def __init__(self, table: str, value: str) -> None:
        super().__init__(f"no portal code for {table} {value!r}")
        self.table = table
        self.value = value


@dataclass(frozen=True)
class PortalCodes:
    """The mapping tables from intake's values to the portal's codes (data: ``portal_codes.json``)."""

    status: Mapping[str, str]
    channel: Mapping[str, str]
    applicant_kind: Mapping[str, str]

    @classmethod
    def load(cls, override: Path | None = None) -> PortalCodes:
        """The default tables, each entry replaced by the override file's where it has one."""
        tables = _read(DEFAULT_CODES_PATH)
        if override is not None:
            for name, entries in _read(override).items():
                if name in tables:
                    tables[name] = {**tables[name], **entries}
        return cls(status=tables["status"], channel=tables["channel"], applicant_kind=tables["applicant_kind"])

    def code(self, table: str, value: str) -> str:
        mapping: Mapping[str, str] = getattr(self, table)
        try:
            return mapping[value]
        except KeyError:
            raise UnmappedValue(table, value) from None


def _read(path: Path) -> dict[str, dict[str, str]]:
    loaded = json.loads(path.read_text(encoding="utf-8"))
    return {name: {str(k): str(v) for k, v in entries.items()} for name, entries in loaded.items() if name[0] != "_"}


@dataclass(frozen=True)
class SubmittedDocument:
    component_code: str  # the procedure's dossier component
    name: str | None = None
    digitised: bool = False  # from digitisation's events
    from_national_database: bool = False  # re-used from the national data warehouse / a connected database


@dataclass(frozen=True)
class FeeLine:
    name: str
    amount: int  # VND
    code: str | None = None


@dataclass(frozen=True)
class SupplementRequest:
    requested_at: datetime
    what: str
    received_at: datetime | None = None


@dataclass(frozen=True)
class ResultDocument:
    name: str
    number: str | None = None


@dataclass(frozen=True)
class DossierSnapshot:
    """A dossier as the portal sees it. Intake builds it from its own tables and the facts it received as events
    (documents from digitisation, fees and online payment from payments)."""

    code: str
    procedure_code: str
    procedure_name: str
    sector_code: str
    applicant_name: str
    applicant_kind: str  # "person" | "organisation"
    received_at: datetime
    due_at: datetime
    status: str  # intake's status value
    channel: str  # "counter" | "online" | "postal"
    sector_name: str | None = None
    applicant_id_number: str | None = None
    returned_at: datetime | None = None
    resolved_at: datetime | None = None
    documents: tuple[SubmittedDocument, ...] = ()
    fees: tuple[FeeLine, ...] = ()
    paid_online: bool = False
    supplements: tuple[SupplementRequest, ...] = ()
    results: tuple[ResultDocument, ...] = ()
    vneid_verified: bool = False


@dataclass(frozen=True)
class ProgressStep:
    dossier_code: str
    handler_name: str
    handled_at: datetime
    department: str
    action: str  # what was done, in Vietnamese, as staff read it
    status: str  # intake's status value after the step
    started_at: datetime
    due_at: datetime  # when the step (or the dossier) is due by the rules
    handler_title: str | None = None


def dossier_record(dossier: DossierSnapshot, codes: PortalCodes) -> dict[str, Any]:
    """The ``DongBoHoSoMC`` record of a dossier. Optional fields are left out rather than sent empty."""
    record: dict[str, Any] = {
        "MaHoSo": dossier.code,
        "MaTTHC": dossier.procedure_code,
        "TenTTHC": dossier.procedure_name,
        "MaLinhVuc": dossier.sector_code,
        "TenLinhVuc": dossier.sector_name,
        "ChuHoSo": dossier.applicant_name,
        "LoaiDoiTuong": codes.code("applicant_kind", dossier.applicant_kind),
        "MaDoiTuong": dossier.applicant_id_number,
        "NgayTiepNhan": portal_time(dossier.received_at),
        "NgayHenTra": portal_time(dossier.due_at),
        "TrangThaiHoSo": codes.code("status", dossier.status),
        "NgayTra": portal_time(dossier.returned_at) if dossier.returned_at else None,
        "NgayKetThucXuLy": portal_time(dossier.resolved_at) if dossier.resolved_at else None,
        "KenhThucHien": codes.code("channel", dossier.channel),
        "TaiLieuNop": [
            _without_none(
                {
                    "MaThanhPhanHoSo": d.component_code,
                    "TenTepDinhKem": d.name,
                    "DuocSoHoa": _flag(d.digitised),
                    "DuocLayTuKhoDMQG": _flag(d.from_national_database),
                }
            )
            for d in dossier.documents
        ],
        "DanhSachLePhi": [
            _without_none({"MaPhiLePhi": f.code, "TenPhiLePhi": f.name, "SoTien": f.amount}) for f in dossier.fees
        ],
        "DanhSachHoSoBoSung": [
            _without_none(
                {
                    "NgayYeuCauBoSung": portal_time(s.requested_at),
                    "NoiDungBoSung": s.what,
                    "NgayTiepNhanBoSung": portal_time(s.received_at) if s.received_at else None,
                }
            )
            for s in dossier.supplements
        ],
        "DanhSachGiayToKetQua": [
            _without_none({"MaGiayToKetQua": r.number, "TenGiayTo": r.name}) for r in dossier.results
        ],
        "DuocThanhToanTrucTuyen": _flag(dossier.paid_online),
        "TaiKhoanDuocXacThucVoiVNeID": _flag(dossier.vneid_verified),
    }
    return _without_none(record)


def progress_record(step: ProgressStep, codes: PortalCodes) -> dict[str, Any]:
    """The ``CapNhatTienDoHoSoMC`` record of one processing step."""
    return _without_none(
        {
            "MaHoSo": step.dossier_code,
            "NguoiXuLy": step.handler_name,
            "ChucDanh": step.handler_title,
            "ThoiDiemXuLy": portal_time(step.handled_at),
            "PhongBanXuLy": step.department,
            "NoiDungXuLy": step.action,
            "TrangThai": codes.code("status", step.status),
            "NgayBatDau": portal_time(step.started_at),
            "NgayKetThucTheoQuyDinh": portal_time(step.due_at),
        }
    )


@dataclass(frozen=True)
class PortalDelivery:
    """What intake enqueues for the portal: ``Deliveries.enqueue(session, target, idempotency_key, payload,
    ordering_key=...)``. One target for both services with the dossier code as ordering key, so a dossier's record
    reaches the portal before its steps, in the order they happened."""

    idempotency_key: str
    ordering_key: str
    payload: dict[str, Any] = field(default_factory=dict)
    target: str = PORTAL_TARGET


def sync_dossier(dossier: DossierSnapshot, codes: PortalCodes, *, cause_id: str) -> PortalDelivery:
    """``cause_id``: the id of the event that changed the record (one delivery per event)."""
    return PortalDelivery(
        idempotency_key=f"{SYNC_DOSSIER}:{dossier.code}:{cause_id}",
        ordering_key=dossier.code,
        payload={"service": SYNC_DOSSIER, "record": dossier_record(dossier, codes)},
    )


def sync_progress(step: ProgressStep, codes: PortalCodes, *, cause_id: str) -> PortalDelivery:
    return PortalDelivery(
        idempotency_key=f"{SYNC_PROGRESS}:{step.dossier_code}:{cause_id}",
        ordering_key=step.dossier_code,
        payload={"service": SYNC_PROGRESS, "record": progress_record(step, codes)},
    )


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
