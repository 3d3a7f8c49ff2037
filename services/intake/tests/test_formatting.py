from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.intake.domain.formatting import mask_name, vn_date, vn_number, vn_time


def test_dates_and_times_are_written_in_vietnam_time() -> None:
    at = datetime(2026, 3, 2, 2, 5, tzinfo=UTC)  # 09:05 in Hà Nội
    assert vn_date(at) == "02/03/2026"
    assert vn_time(at) == "09 giờ 05 phút, ngày 02/03/2026"
    assert vn_date(None) == "" and vn_time(None) == ""


@pytest.mark.parametrize(("value", "text"), [(0, "0"), (8000, "8.000"), (1250000, "1.250.000"), (-1500, "-1.500")])
def test_numbers_use_dots_for_thousands(value: int, text: str) -> None:
    assert vn_number(value) == text


@pytest.mark.parametrize(
    ("name", "masked"),
    [("Nguyễn Văn A", "Nguyễn V. A."), ("Trần Thị Thu Hà", "Trần T. T. H."), ("Lê", "L."), ("  ", "")],
)
def test_masked_names(name: str, masked: str) -> None:
    assert mask_name(name) == masked
