"""The indicators reporting computes: code, Vietnamese name as printed, definition for the API, what they count
(``Basis``) and, for dossier counts, the per-dossier flags summed as numerator and denominator
(docs/reporting.md, "Indicators")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Basis(StrEnum):
    DOSSIER = "dossier"
    PROCEDURE = "procedure"
    PAYMENT = "payment"
    VISIT = "visit"
    CATALOGUE = "catalogue"
    DESK = "desk"
    # The events this indicator needs do not exist yet: it answers "no data" rather than guess (docs/reporting.md)
    UNRECORDED = "unrecorded"


class Unit(StrEnum):
    PERCENT = "%"
    MINUTES = "minutes"
    PER_OFFICER_YEAR = "dossiers/officer/year"


@dataclass(frozen=True)
class IndicatorDef:
    code: str
    name: str  # Vietnamese, as printed on reports
    definition: str  # English, for the API
    basis: Basis
    unit: Unit = Unit.PERCENT
    numerator_flag: str | None = None  # for dossier-count indicators: the flags summed
    denominator_flag: str | None = None


_DEFS = [
    IndicatorDef(
        "on_time_rate",
        "Tỷ lệ hồ sơ giải quyết trước và đúng hạn",
        "(early + on time) / finished, dossiers finished in the period",
        Basis.DOSSIER,
        numerator_flag="finished_in_time",
        denominator_flag="finished",
    ),
    IndicatorDef(
        "early_rate",
        "Tỷ lệ hồ sơ giải quyết trước hạn",
        "early / finished",
        Basis.DOSSIER,
        numerator_flag="finished_early",
        denominator_flag="finished",
    ),
    IndicatorDef(
        "late_apology_rate",
        "Tỷ lệ hồ sơ trễ hạn có văn bản xin lỗi",
        "late dossiers (finished late in the period or overdue at its end) with an apology / late dossiers",
        Basis.DOSSIER,
        numerator_flag="late_apologised",
        denominator_flag="late",
    ),
    IndicatorDef(
        "late_explained_rate",
        "Tỷ lệ hồ sơ trễ hạn được giải trình nguyên nhân",
        "late dossiers with a recorded explanation to the head of the agency / late dossiers",
        Basis.DOSSIER,
        numerator_flag="late_explained",
        denominator_flag="late",
    ),
    IndicatorDef(
        "online_intake_rate",
        "Tỷ lệ hồ sơ tiếp nhận trực tuyến",
        "dossiers received online / dossiers received",
        Basis.DOSSIER,
        numerator_flag="received_online",
        denominator_flag="received",
    ),
    IndicatorDef(
        "fully_online_rate",
        "Tỷ lệ hồ sơ xử lý hoàn toàn trực tuyến",
        "dossiers received online, all components electronic, fees paid online, result returned "
        "electronically / dossiers received",
        Basis.DOSSIER,
        numerator_flag="received_fully_online",
        denominator_flag="received",
    ),
    IndicatorDef(
        "postal_rate",
        "Tỷ lệ hồ sơ tiếp nhận, trả kết quả qua bưu chính công ích",
        "dossiers received or returned through the public postal service / dossiers received",
        Basis.DOSSIER,
        numerator_flag="received_postal",
        denominator_flag="received",
    ),
    IndicatorDef(
        "remote_online_rate",
        "Tỷ lệ hồ sơ trực tuyến nộp từ xa",
        "online dossiers submitted by the applicant from outside a one-stop desk / dossiers received",
        Basis.DOSSIER,
        numerator_flag="received_remote_online",
        denominator_flag="received",
    ),
    IndicatorDef(
        "identified_online_rate",
        "Tỷ lệ hồ sơ trực tuyến xác thực bằng định danh điện tử",
        "online dossiers whose applicant was authenticated by the national e-identity / online dossiers",
        Basis.DOSSIER,
        numerator_flag="received_online_identified",
        denominator_flag="received_online",
    ),
    IndicatorDef(
        "digitised_intake_rate",
        "Tỷ lệ hồ sơ được số hóa khi tiếp nhận",
        "dossiers whose must-digitise components were all digitised at reception / dossiers received",
        Basis.DOSSIER,
        numerator_flag="received_all_digitised",
        denominator_flag="received",
    ),
    IndicatorDef(
        "e_result_rate",
        "Tỷ lệ hồ sơ có kết quả điện tử",
        "dossiers finished with an electronic result / dossiers finished with a result",
        Basis.DOSSIER,
        numerator_flag="resolved_e_result",
        denominator_flag="resolved",
    ),
    IndicatorDef(
        "procedure_e_result_rate",
        "Tỷ lệ TTHC cấp kết quả điện tử",
        "procedures whose results in the period were all electronic / procedures with a result in the period",
        Basis.PROCEDURE,
    ),
    IndicatorDef(
        "reuse_rate",
        "Tỷ lệ hồ sơ tái sử dụng dữ liệu, giấy tờ đã số hóa",
        "dossiers with at least one document taken from the data warehouse / dossiers received",
        Basis.DOSSIER,
        numerator_flag="received_reused",
        denominator_flag="received",
    ),
    IndicatorDef(
        "electronic_transfer_rate",
        "Tỷ lệ hồ sơ luân chuyển giữa các cơ quan bằng phương thức điện tử",
        "dossiers all of whose inter-agency transfers were electronic / dossiers with an inter-agency transfer",
        Basis.DOSSIER,
        numerator_flag="transferred_electronic",
        denominator_flag="transferred",
    ),
    IndicatorDef(
        "online_payment_txn_rate",
        "Tỷ lệ giao dịch thanh toán trực tuyến",
        "successful online payment transactions / successful payment transactions",
        Basis.PAYMENT,
    ),
    IndicatorDef(
        "online_payment_procedure_rate",
        "Tỷ lệ TTHC có nghĩa vụ tài chính được thanh toán trực tuyến",
        "fee procedures with an online payment in the period / fee procedures with dossiers in the period",
        Basis.PROCEDURE,
    ),
    IndicatorDef(
        "satisfaction_rate",
        "Tỷ lệ hài lòng của người dân, doanh nghiệp",
        "ratings satisfied or very satisfied / all ratings",
        Basis.DOSSIER,
        numerator_flag="rated_satisfied",
        denominator_flag="rated",
    ),
    IndicatorDef(
        "e_certified_copy_rate",
        "Tỷ lệ bản sao điện tử được chứng thực từ bản chính",
        "electronic certified copies / certified copies issued",
        Basis.DOSSIER,
        numerator_flag="certified_electronic",
        denominator_flag="certified",
    ),
    IndicatorDef(
        "avg_wait_minutes",
        "Thời gian chờ đợi trung bình (phút/lượt)",
        "mean minutes from queue ticket to being served, per visit",
        Basis.VISIT,
        Unit.MINUTES,
    ),
    IndicatorDef(
        "staff_productivity",
        "Năng suất tiếp nhận hồ sơ (hồ sơ/người/năm)",
        "dossiers received per desk officer per year (scaled to the period)",
        Basis.DESK,
        Unit.PER_OFFICER_YEAR,
    ),
    IndicatorDef(
        "online_service_coverage",
        "Tỷ lệ TTHC cung cấp dịch vụ công trực tuyến",
        "published procedures offered fully or partly online / published procedures (at the window's end)",
        Basis.CATALOGUE,
    ),
    IndicatorDef(
        "published_rate",
        "Tỷ lệ TTHC được công bố, công khai",
        "procedures in force that are published and public / procedures in force (at the window's end)",
        Basis.CATALOGUE,
    ),
    IndicatorDef(
        "online_payment_enabled_rate",
        "Tỷ lệ TTHC có nghĩa vụ tài chính được triển khai thanh toán trực tuyến",
        "procedures in force with a fee or charge, at least one of them payable online (the catalogue's "
        "FeeItem.payable_online) / procedures in force with a fee or charge (at the window's end)",
        Basis.CATALOGUE,
    ),
    IndicatorDef(
        "late_apology_in_time_rate",
        "Tỷ lệ văn bản xin lỗi ban hành trước hạn ít nhất 01 ngày làm việc",
        "late dossiers whose apology was issued at least one working day before the due time in force / late "
        "dossiers with an apology (the numerator of late_apology_rate)",
        Basis.DOSSIER,
        numerator_flag="late_apologised_in_time",
        denominator_flag="late_apologised",
    ),
    IndicatorDef(
        "late_supplement_request_rate",
        "Tỷ lệ yêu cầu bổ sung hồ sơ quá 03 ngày làm việc",
        "dossiers whose first request to supplement in the period came later than three working days after the "
        "handling step began / dossiers with a first request to supplement in the period whose timing is known",
        Basis.DOSSIER,
        numerator_flag="supplement_requested_late",
        denominator_flag="supplement_requested",
    ),
    IndicatorDef(
        "digitised_valid_results_rate",
        "Tỷ lệ kết quả giải quyết TTHC còn hiệu lực được số hóa",
        "still-valid past results digitised / still-valid past results; needs an inventory of past results and "
        "their digitisation, which no event carries yet: no data",
        Basis.UNRECORDED,
    ),
    IndicatorDef(
        "desk_evaluation_rate",
        "Tỷ lệ bộ phận một cửa và công chức một cửa được đánh giá, chấm điểm",
        "desks and desk officers evaluated and scored in the period / desks and desk officers; needs evaluation "
        "events, which do not exist yet: no data",
        Basis.UNRECORDED,
    ),
    IndicatorDef(
        "portal_sync_rate",
        "Tỷ lệ tiến độ, kết quả giải quyết hồ sơ được đồng bộ với Cổng Dịch vụ công quốc gia",
        "dossiers whose every step was acknowledged by the national portal / dossiers with a step in the period; "
        "needs the portal's acknowledgements as events, which do not exist yet: no data",
        Basis.UNRECORDED,
    ),
]
INDICATORS: dict[str, IndicatorDef] = {d.code: d for d in _DEFS}
