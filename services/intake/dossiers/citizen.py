"""The citizen's page: the public look-up as a Vietnamese HTML page for a phone's browser.

The same facts as the JSON look-up (status, appointment, the apology's new date) plus what the applicant needs to
act: what to bring and where to collect the result. Nothing personal beyond the masked name: the page is open to
anyone holding the code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment

from libs.common.web import template_environment
from services.intake.domain.formatting import mask_name, vn_date, vn_number, vn_time
from services.intake.domain.lifecycle import Status
from services.intake.dossiers import schemas as s
from services.intake.models import Dossier

STATUS_LABELS = {
    Status.RECEIVED: "Đã tiếp nhận",
    Status.IN_PROGRESS: "Đang giải quyết",
    Status.AWAITING_SUPPLEMENT: "Chờ bổ sung hồ sơ",
    Status.RESOLVED: "Đã có kết quả, chờ trả",
    Status.RETURNED: "Đã trả kết quả",
    Status.REFUSED: "Từ chối giải quyết",
    Status.WITHDRAWN: "Đã rút hồ sơ",
    Status.STOPPED: "Dừng giải quyết",
}
STATUS_NOTES = {
    Status.RECEIVED: "Hồ sơ đã được tiếp nhận và đang chuyển tới cơ quan giải quyết.",
    Status.IN_PROGRESS: "Cơ quan có thẩm quyền đang giải quyết hồ sơ.",
    Status.AWAITING_SUPPLEMENT: "Hồ sơ cần bổ sung, hoàn thiện. Thời hạn giải quyết tạm dừng cho tới khi nhận đủ.",
    Status.RESOLVED: "Đã có kết quả giải quyết. Mời ông/bà nhận kết quả.",
    Status.RETURNED: "Kết quả đã được trả cho người nộp hồ sơ.",
    Status.REFUSED: "Hồ sơ không đủ điều kiện giải quyết. Lý do ghi trong phiếu từ chối (mẫu 03).",
    Status.WITHDRAWN: "Hồ sơ đã được rút theo đề nghị của người nộp.",
    Status.STOPPED: "Việc giải quyết hồ sơ đã dừng. Lý do ghi trong thông báo của cơ quan giải quyết.",
}
TONES = {
    Status.RESOLVED: "met",
    Status.RETURNED: "met",
    Status.AWAITING_SUPPLEMENT: "unmet",
    Status.REFUSED: "unmet",
    Status.STOPPED: "unmet",
}
# Statuses in which the applicant still has something to collect (the result, or a refusal notice in form 03).
TO_COLLECT = {Status.RECEIVED, Status.IN_PROGRESS, Status.AWAITING_SUPPLEMENT, Status.RESOLVED}


@lru_cache(maxsize=1)
def environment() -> Environment:
    return template_environment(Path(__file__).parent / "templates")


def what_to_bring(dossier: Dossier, status: Status) -> list[str]:
    if status is Status.AWAITING_SUPPLEMENT:
        supplements = dossier.details.get("supplements") or []
        items = [str(item) for item in (supplements[-1].get("items") or [])] if supplements else []
        return [*items, "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ (mẫu 02)"]
    if status not in TO_COLLECT:
        return []
    bring = [
        "Giấy tiếp nhận hồ sơ và hẹn trả kết quả (mẫu 01)",
        "Căn cước công dân hoặc giấy tờ tùy thân còn hiệu lực",
        "Văn bản ủy quyền, nếu nhận thay",
    ]
    if dossier.fees_due_vnd:
        bring.append(f"Phí, lệ phí {vn_number(dossier.fees_due_vnd)} đồng, nếu chưa nộp")
    return bring


def where_to_collect(dossier: Dossier, agency_name: str) -> str:
    if dossier.details.get("postal_return_requested") or dossier.return_channel == "postal":
        return "Qua dịch vụ bưu chính công ích, tới địa chỉ ông/bà đã đăng ký"
    if dossier.electronic_result and dossier.channel == "online":
        return "Kết quả điện tử trên Cổng dịch vụ công, hoặc tại Bộ phận Tiếp nhận và Trả kết quả – " + agency_name
    return "Bộ phận Tiếp nhận và Trả kết quả – " + agency_name


def citizen_page(dossier: Dossier, agency_name: str) -> str:
    status = Status(dossier.status)
    context: dict[str, Any] = {
        "code": dossier.code,
        "status_label": STATUS_LABELS[status],
        "status_note": STATUS_NOTES[status],
        "tone": TONES.get(status, "no-data"),
        "procedure_name": dossier.procedure_name,
        "applicant": mask_name(dossier.applicant_name)
        if dossier.applicant_kind == "person"
        else dossier.applicant_name,
        "received_text": vn_time(dossier.received_at),
        "appointment_text": vn_time(dossier.initial_due_at),
        "due_text": vn_time(dossier.due_at) if dossier.due_at != dossier.initial_due_at else None,
        "apology_text": vn_time(dossier.apology_due_at) if dossier.apology_due_at else None,
        "finished_text": vn_date(dossier.finished_at) if dossier.finished_at else None,
        "returned_text": vn_date(dossier.returned_at) if dossier.returned_at else None,
        "bring": what_to_bring(dossier, status),
        "collect": where_to_collect(dossier, agency_name) if status in TO_COLLECT else None,
        "unit_name": agency_name,
    }
    return environment().get_template("citizen.html").render(context)


ACTION_LABELS = {"read": "Xem", "create": "Ghi mới", "change": "Sửa đổi", "export": "Xuất danh sách"}
PROVINCE_WIDE = "province-wide"


def data_reads_page(reads: s.PersonalDataReadsRead, agency_names: dict[str, str]) -> str:
    """The applicant's answer to "who has seen my personal data?" (Decree 13/2023): each agency's reads and changes,
    newest first, named as the catalogue names the agency."""

    def who(agency_code: str | None) -> str:
        if agency_code is None:
            return "Cổng dịch vụ công (theo yêu cầu của ông/bà)"
        if agency_code == PROVINCE_WIDE:
            return "Cán bộ cấp tỉnh"
        return agency_names.get(agency_code) or agency_code

    rows = [
        {"at": vn_time(r.at), "who": who(r.agency_code), "action": ACTION_LABELS.get(r.action, r.action)}
        for r in sorted(reads.reads, key=lambda r: r.at, reverse=True)
    ]
    return environment().get_template("data_reads.html").render(code=reads.code, rows=rows)


def prefers_html(accept: str | None) -> bool:
    """Whether an ``Accept`` header asks for HTML before JSON (a browser's does; the portal's and curl's do not)."""
    if not accept:
        return False
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        weights[media.lower()] = max(quality, weights.get(media.lower(), 0.0))
    html = weights.get("text/html", 0.0)
    json = max(weights.get("application/json", 0.0), weights.get("application/*", 0.0))
    return html > 0 and html > json
