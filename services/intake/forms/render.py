"""Forms of Circular 01/2018/TT-VPCP as printable HTML (01 receipt, 02 supplement, 03 refusal, 04 apology,
05 process control sheet) and the tracking book (06) as CSV. PDF is left to the browser's print dialog."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from libs.common.contract import ProcedureSnapshot
from libs.common.contract.timeliness import judge_outcome
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


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(vn_date=vn_date, vn_time=vn_time, vn_number=vn_number)
    return env


def control_sheet_rows(dossier: Dossier, steps: Sequence[DossierStep]) -> list[dict[str, Any]]:
    """Each recorded step, judged against the due time in force (early / on time / late)."""
    return [
        {
            "command": step.command,
            "command_label": COMMAND_LABELS.get(step.command, step.command),
            "at": step.at,
            "actor": step.actor,
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
    agency: AgencyReplica | None,
    procedure: ProcedureSnapshot | None,
    book_entry: int | None = None,
) -> str:
    check_form_number(number)
    details = dossier.details
    context: dict[str, Any] = {
        "form_no": number,
        "dossier": dossier,
        "receiving_agency_name": agency.name if agency else dossier.receiving_agency_code,
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
    elif number == "02":
        supplements = details.get("supplements") or []
        if not supplements:
            raise FormNotAvailable(f"Dossier {dossier.code} has no request to supplement")
        latest = supplements[-1]
        context["supplement"] = {**latest, "at": datetime.fromisoformat(latest["at"])}
        context["supplement_officer"] = next(
            (st.actor for st in reversed(steps) if st.command == "request_supplement"), ""
        )
    elif number == "03":
        if dossier.status != "refused":
            raise FormNotAvailable(f"Dossier {dossier.code} is not refused")
    elif number == "04":
        if dossier.apology_due_at is None:
            raise FormNotAvailable(f"Dossier {dossier.code} has no apology")
    else:
        context["rows"] = control_sheet_rows(dossier, steps)
        context["handling_agencies"] = handling_agencies(dossier, steps)
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


def tracking_book_csv(dossiers: Sequence[Dossier]) -> str:
    """Form 06, one row per dossier in receipt order; UTF-8 with a BOM so spreadsheet programs read the accents."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BOOK_HEADER)
    for number, dossier in enumerate(dossiers, start=1):
        contact = dossier.details.get("applicant_contact") or {}
        address = ", ".join(part for part in (contact.get("address"), contact.get("phone")) if part)
        writer.writerow(
            (
                number,
                dossier.code,
                dossier.procedure_name,
                dossier.applicant_name,
                address,
                dossier.handling_agency_code,
                vn_date(dossier.received_at),
                vn_date(dossier.apology_due_at or dossier.due_at),
                vn_date(dossier.returned_at),
                RETURN_LABELS.get(dossier.return_channel or "", ""),
                "",
            )
        )
    return out.getvalue()
