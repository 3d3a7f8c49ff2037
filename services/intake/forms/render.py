"""Forms of Circular 01/2018/TT-VPCP as printable HTML and PDF from the same templates (01 receipt, 02 supplement,
03 refusal, 04 apology, 05 process control sheet) and the tracking book (06) as CSV and PDF.

Agencies are printed by name as they were at receipt (the snapshot on the dossier); rows received before the
snapshot existed, and agencies a transfer reached, fall back to the catalogue replica's current name, then the code.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import qrcode
from jinja2 import Environment
from markupsafe import Markup
from qrcode.image.svg import SvgPathImage

from libs.common.contract import ProcedureSnapshot
from libs.common.contract.timeliness import judge_outcome
from libs.common.web import template_environment
from services.intake.domain.formatting import vn_date, vn_number, vn_time
from services.intake.errors import FormNotAvailable
from services.intake.models import AgencyReplica, Dossier, DossierStep

FORMS = ("01", "02", "03", "04", "05")

COMMAND_LABELS = {
    "transfer": "Chuyển hồ sơ",
    "request_supplement": "Yêu cầu bổ sung hồ sơ",
    "receive_supplement": "Nhận hồ sơ bổ sung",
    "refuse": "Từ chối giải quyết",
    "withdraw": "Rút hồ sơ",
    "stop": "Dừng xử lý",
    "resolve": "Có kết quả giải quyết",
    "return": "Trả kết quả",
    "apologise": "Xin lỗi, hẹn lại ngày trả",
    "explain": "Giải trình nguyên nhân",
    "rate": "Đánh giá mức độ hài lòng",
}
OUTCOME_LABELS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}
FORM_LABELS = {"paper": "Bản giấy", "electronic": "Bản điện tử", "warehouse": "Lấy từ kho dữ liệu"}
RETURN_LABELS = {"counter": "Trực tiếp", "postal": "Qua bưu chính công ích", "electronic": "Trực tuyến"}
LIMIT_UNITS = {"working_days": "ngày làm việc", "working_hours": "giờ làm việc"}
# Form 01 is made in two copies ("Liên: Lưu/giao khách hàng" on the Circular's form): one handed to the applicant,
# one kept by the desk. Each copy is one A5 page (up to six components): two copies on one A5 sheet would need type
# too small to read, so each is printed on its own and labelled with the copy it is.
FORM_01_COPIES = ("Liên 1: Giao người nộp hồ sơ", "Liên 2: Lưu tại Bộ phận Tiếp nhận và Trả kết quả")


class Form01Copy(StrEnum):
    """Which copies of form 01 to print: ``1`` the applicant's, ``2`` the desk's file copy, ``both`` one page each."""

    APPLICANT = "1"
    FILE = "2"
    BOTH = "both"


def form_01_copies(copy: Form01Copy) -> tuple[str, ...]:
    if copy is Form01Copy.BOTH:
        return FORM_01_COPIES
    return (FORM_01_COPIES[0 if copy is Form01Copy.APPLICANT else 1],)


COPY_LINKS = {Form01Copy.APPLICANT: "Liên 1", Form01Copy.FILE: "Liên 2", Form01Copy.BOTH: "Cả hai liên"}


TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    return template_environment(TEMPLATES, filters={"vn_date": vn_date, "vn_time": vn_time, "vn_number": vn_number})


def qr_svg(url: str) -> Markup:
    """A QR code of ``url`` as inline SVG (no raster library, nothing fetched), scaled by the page's CSS."""
    image = qrcode.make(url, image_factory=SvgPathImage, border=1)
    svg = image.to_string(encoding="unicode")
    # The XML declaration is not allowed inside HTML, and the path's id would repeat on a page with two copies; the
    # markup is the library's own, with no user text in it.
    svg = svg[svg.index("<svg") :].replace(' id="qr-path"', "")
    return Markup(svg)


def public_url(base_url: str, code: str) -> str:
    """The citizen's page of a dossier (the public look-up, HTML for a browser)."""
    return f"{base_url.rstrip('/')}/public/dossiers/{code}"


def agency_name(code: str | None, snapshot: str | None, agencies: dict[str, AgencyReplica]) -> str:
    if not code:
        return ""
    if snapshot:
        return snapshot
    row = agencies.get(code)
    return row.name if row else code


def agency_codes(dossier: Dossier, steps: Sequence[DossierStep]) -> set[str]:
    """Every agency a form of this dossier may name: to look up in the replica in one query."""
    codes = {dossier.receiving_agency_code, dossier.handling_agency_code}
    for step in steps:
        codes.update(c for c in (step.from_agency_code, step.to_agency_code) if c)
    return codes


def control_sheet_rows(
    dossier: Dossier, steps: Sequence[DossierStep], agencies: dict[str, AgencyReplica] | None = None
) -> list[dict[str, Any]]:
    """Each recorded step, judged against the due time in force (early / on time / late)."""
    known = agencies or {}
    return [
        {
            "command": step.command,
            "command_label": COMMAND_LABELS.get(step.command, step.command),
            "at": step.at,
            "actor": step.actor,
            "actor_name": step.actor_name or step.actor,
            "from_agency_name": agency_name(step.from_agency_code, None, known),
            "to_agency_name": agency_name(step.to_agency_code, None, known),
            "status_before": step.status_before,
            "status_after": step.status_after,
            "from_agency_code": step.from_agency_code,
            "to_agency_code": step.to_agency_code,
            "note": step.note,
            "details": step.details,
            # a paper transfer recorded after 15:00 counts from the next working day's opening (Decree 61 Art. 18)
            "effective_at": datetime.fromisoformat(eff) if (eff := step.details.get("effective_at")) else step.at,
            "late_transfer": step.details.get("late") is True,
            "result": (result := judge_outcome(step.at, dossier.due_at).value),
            "result_label": OUTCOME_LABELS[result],
        }
        for step in steps
    ]


def handling_agencies(dossier: Dossier, steps: Sequence[DossierStep]) -> list[str]:
    agencies = [dossier.handling_agency_code]
    for step in steps:
        if step.to_agency_code and step.to_agency_code not in agencies:
            agencies.append(step.to_agency_code)
    return agencies


def check_form_number(number: str) -> None:
    if number not in FORMS:
        raise FormNotAvailable(f"No form {number}: forms are {', '.join(FORMS)}")


def render(
    number: str,
    dossier: Dossier,
    steps: Sequence[DossierStep],
    agencies: dict[str, AgencyReplica],
    procedure: ProcedureSnapshot | None,
    book_entry: int | None = None,
    *,
    public_base_url: str = "http://127.0.0.1:8002",
    copy: Form01Copy = Form01Copy.BOTH,
) -> str:
    """The form as HTML; for form 01, the copies ``copy`` names (each one A5 page when printed)."""
    check_form_number(number)
    details = dossier.details
    context: dict[str, Any] = {
        "form_no": number,
        "dossier": dossier,
        "copies": [None],
        "receiving_agency_name": agency_name(dossier.receiving_agency_code, dossier.receiving_agency_name, agencies),
        "handling_agency_name": agency_name(dossier.handling_agency_code, dossier.handling_agency_name, agencies),
        "received_by_name": details.get("received_by_name") or details.get("received_by") or "",
        "desk_label": "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ",
        "contact": details.get("applicant_contact") or {},
        "sector_name": (details.get("sector") or {}).get("name", ""),
    }
    if number == "01":
        names = {c.code: c.name for c in procedure.components} if procedure else {}
        context["components"] = [
            {
                "name": names.get(c["code"], c["code"]),
                "form_label": FORM_LABELS.get(c["form"], c["form"]),
                "copies": c.get("copies", 1),
            }
            for c in details.get("components", [])
        ]
        unit = LIMIT_UNITS.get(dossier.time_limit_unit)
        context["time_limit_text"] = (
            f"{dossier.time_limit_amount} {unit}" if unit else "trong ngày làm việc (trả kết quả trong ngày)"
        )
        context["received_year"] = dossier.received_at.year
        context["book_entry"] = book_entry
        context["copies"] = form_01_copies(copy)
        context["copy_choices"] = [(c.value, label) for c, label in COPY_LINKS.items()]
        context["public_url"] = public_url(public_base_url, dossier.code)
        context["qr_svg"] = qr_svg(context["public_url"])
    elif number == "02":
        supplements = details.get("supplements") or []
        if not supplements:
            raise FormNotAvailable(f"Dossier {dossier.code} has no request to supplement")
        latest = supplements[-1]
        context["supplement"] = {**latest, "at": datetime.fromisoformat(latest["at"])}
        context["supplement_officer"] = next(
            (st.actor_name or st.actor for st in reversed(steps) if st.command == "request_supplement"), ""
        )
    elif number == "03":
        if dossier.status != "refused":
            raise FormNotAvailable(f"Dossier {dossier.code} is not refused")
        context["refusal_officer"] = next(
            (st.actor_name or st.actor for st in reversed(steps) if st.command == "refuse"), ""
        )
    elif number == "04":
        if dossier.apology_due_at is None:
            raise FormNotAvailable(f"Dossier {dossier.code} has no apology")
    else:
        context["rows"] = control_sheet_rows(dossier, steps, agencies)
        context["handling_agencies"] = [
            agency_name(code, dossier.handling_agency_name if code == dossier.handling_agency_code else None, agencies)
            for code in handling_agencies(dossier, steps)
        ]
    return environment().get_template(f"form_{number}.html").render(context)


BOOK_HEADER = (
    "STT",
    "Mã hồ sơ",
    "Tên thủ tục hành chính",
    "Tên tổ chức, cá nhân",
    "Địa chỉ, số điện thoại",
    "Cơ quan chủ trì giải quyết",
    "Ngày nhận hồ sơ",
    "Ngày hẹn trả kết quả",
    "Ngày trả kết quả",
    "Hình thức nhận kết quả",
    "Ký nhận",
)


def tracking_book_rows(dossiers: Sequence[Dossier], agencies: dict[str, AgencyReplica]) -> list[tuple[Any, ...]]:
    """Form 06's rows in receipt order, numbered through the year (the same cells in the CSV and the PDF)."""
    rows: list[tuple[Any, ...]] = []
    for number, dossier in enumerate(dossiers, start=1):
        contact = dossier.details.get("applicant_contact") or {}
        address = ", ".join(part for part in (contact.get("address"), contact.get("phone")) if part)
        rows.append(
            (
                number,
                dossier.code,
                dossier.procedure_name,
                dossier.applicant_name,
                address,
                agency_name(dossier.handling_agency_code, dossier.handling_agency_name, agencies),
                vn_date(dossier.received_at),
                vn_date(dossier.apology_due_at or dossier.due_at),
                vn_date(dossier.returned_at),
                RETURN_LABELS.get(dossier.return_channel or "", ""),
                "",
            )
        )
    return rows


def tracking_book_csv(rows: Sequence[tuple[Any, ...]]) -> str:
    """Form 06 as CSV: UTF-8 with a BOM so spreadsheet programs read the accents."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BOOK_HEADER)
    writer.writerows(rows)
    return out.getvalue()


def tracking_book_html(agency: str, year: int, rows: Sequence[tuple[Any, ...]]) -> str:
    """Form 06 as a printable page: A4 landscape, the header row repeated on every page, pages numbered."""
    return (
        environment().get_template("form_06.html").render(agency_name=agency, year=year, header=BOOK_HEADER, rows=rows)
    )
