"""Unit tests of the catalogue's rules: search folding, code formats, the process against the legal limit,
versions in force, and the catalogue indicators."""

from __future__ import annotations

from datetime import date

import pytest

from libs.common.calendar import WorkingCalendar
from libs.common.contract import LimitUnit, ProcessStep, TimeLimitData
from services.catalogue.domain import indicators, rules, transparency
from services.catalogue.domain.text import fold, like_patterns
from services.catalogue.domain.versions import Availability, VersionSpan, check_effective_after, version_at


class TestFold:
    @pytest.mark.parametrize(
        ("text", "folded"),
        [
            ("Đăng ký khai sinh", "dang ky khai sinh"),
            ("ĐĂNG KÝ  KẾT HÔN", "dang ky ket hon"),
            ("Cấp Giấy chứng nhận quyền sử dụng đất", "cap giay chung nhan quyen su dung dat"),
            ("Ủy ban nhân dân xã Hòa Bình", "uy ban nhan dan xa hoa binh"),
        ],
    )
    def test_strips_marks_and_d(self, text: str, folded: str) -> None:
        assert fold(text) == folded

    def test_decomposed_input(self) -> None:
        import unicodedata

        assert fold(unicodedata.normalize("NFD", "Hộ tịch")) == "ho tich"

    def test_patterns_are_one_per_word_and_escape_wildcards(self) -> None:
        assert like_patterns("Đăng  ký") == ["%dang%", "%ky%"]
        assert like_patterns("50%_x") == ["%50\\%\\_x%"]
        assert like_patterns("   ") == []


def steps(*hours: float) -> list[ProcessStep]:
    return [
        ProcessStep(order=i, actor=f"Bộ phận {i}", action="Xử lý", allowance_hours=h) for i, h in enumerate(hours, 1)
    ]


DAYS_3 = TimeLimitData(amount=3, unit=LimitUnit.WORKING_DAYS)


class TestProcess:
    def test_allowances_up_to_the_limit_pass(self) -> None:
        assert rules.check_process(steps(4, 12, 8), DAYS_3) == []
        assert rules.check_process(steps(4, 4), DAYS_3) == []

    def test_the_step_that_passes_the_limit_is_named(self) -> None:
        [issue] = rules.check_process(steps(8, 12, 8, 4), DAYS_3)
        assert issue.loc == ("process", 2, "allowance_hours")
        assert "step 3" in issue.msg and "28 working hours" in issue.msg and "3 working days" in issue.msg

    def test_working_hours_and_same_day_limits(self) -> None:
        assert rules.check_process(steps(2, 2), TimeLimitData(amount=4, unit=LimitUnit.WORKING_HOURS)) == []
        assert rules.check_process(steps(2, 3), TimeLimitData(amount=4, unit=LimitUnit.WORKING_HOURS))
        same_day = TimeLimitData(amount=0, unit=LimitUnit.SAME_DAY)
        assert rules.check_process(steps(1, 5, 2), same_day) == []
        [issue] = rules.check_process(steps(1, 5, 3), same_day)
        assert "the same day" in issue.msg

    def test_steps_are_numbered_in_order(self) -> None:
        shuffled = [ProcessStep(order=2, actor="A", action="B", allowance_hours=1)]
        assert rules.check_process(shuffled, DAYS_3)[0].loc == ("process",)

    def test_time_limit_amounts(self) -> None:
        assert rules.check_time_limit(TimeLimitData(amount=0, unit=LimitUnit.WORKING_DAYS))
        assert rules.check_time_limit(TimeLimitData(amount=0, unit=LimitUnit.SAME_DAY)) == []
        assert rules.check_time_limit(TimeLimitData(amount=2, unit=LimitUnit.SAME_DAY))


class TestOtherRules:
    def test_inter_agency_needs_participants_and_only_then(self) -> None:
        assert rules.check_inter_agency(True, [])
        assert rules.check_inter_agency(False, ["Công an cấp xã"])
        assert rules.check_inter_agency(True, ["Công an cấp xã"]) == []
        assert rules.check_inter_agency(False, []) == []


V1 = VersionSpan(1, date(2021, 1, 1), date(2022, 6, 30))
V2 = VersionSpan(2, date(2022, 7, 1))


class TestVersions:
    def test_version_in_force_on_a_day(self) -> None:
        assert version_at([V1, V2], date(2020, 12, 31)) == (None, Availability.NOT_YET)
        assert version_at([V1, V2], date(2022, 6, 30)) == (V1, Availability.IN_FORCE)
        assert version_at([V1, V2], date(2022, 7, 1)) == (V2, Availability.IN_FORCE)

    def test_withdrawn_after_its_last_day(self) -> None:
        last = VersionSpan(2, date(2022, 7, 1), date(2026, 3, 31))  # withdrawn from 1 April 2026
        assert version_at([V1, last], date(2026, 3, 31)) == (last, Availability.IN_FORCE)
        assert version_at([V1, last], date(2026, 4, 1)) == (last, Availability.WITHDRAWN)
        assert version_at([V1, last], date(2021, 5, 1)) == (V1, Availability.IN_FORCE)

    def test_a_new_decision_takes_effect_after_the_latest_version(self) -> None:
        assert check_effective_after(V2, date(2022, 7, 1), "amendment")[0].loc == ("decision", "effective_on")
        assert check_effective_after(V2, date(2022, 7, 2), "amendment") == []


def entry(
    code: str, version: int, online: str, public: bool, start: date, end: date | None = None
) -> indicators.CatalogueEntry:
    return indicators.CatalogueEntry(code, version, online, public, start, end)


class TestIndicators:
    ENTRIES = (
        entry("1.000001", 1, "none", True, date(2021, 1, 1), date(2022, 6, 30)),
        entry("1.000001", 2, "full", True, date(2022, 7, 1)),
        entry("1.000002", 1, "partial", True, date(2021, 1, 1)),
        entry("1.000003", 1, "none", False, date(2021, 1, 1)),  # in force, not yet made public
        entry("1.000004", 1, "full", True, date(2021, 1, 1), date(2021, 12, 31)),  # withdrawn from 2022
    )

    def test_rates_on_a_day(self) -> None:
        on_2021 = date(2021, 12, 14)
        assert indicators.published_rate(self.ENTRIES, on_2021) == indicators.Rate("published_rate", 3, 4)
        coverage_2021 = indicators.online_service_coverage(self.ENTRIES, on_2021)
        assert (coverage_2021.numerator, coverage_2021.denominator) == (2, 3)
        coverage_2022 = indicators.online_service_coverage(self.ENTRIES, date(2022, 12, 14))
        assert (coverage_2022.numerator, coverage_2022.denominator, coverage_2022.value) == (2, 2, 100.0)

    def test_no_data_is_not_zero(self) -> None:
        rate = indicators.published_rate(self.ENTRIES, date(2020, 1, 1))
        assert rate.denominator == 0 and rate.value is None


class TestTransparency:
    """Decision 766 transparency facts (docs/domain.md §Publication of procedures)."""

    def test_publication_and_national_db_deadlines(self) -> None:
        calendar = WorkingCalendar(years=range(2026, 2027))
        # Effective Wed 1 Jul 2026. 20 working days back (no holiday in June 2026): Tue 30 Jun (1), Mon 29 (2),
        # Fri 26 (3), Thu 25 (4), Wed 24 (5), Tue 23 (6), Mon 22 (7), Fri 19 (8), Thu 18 (9), Wed 17 (10), Tue 16
        # (11), Mon 15 (12), Fri 12 (13), Thu 11 (14), Wed 10 (15), Tue 9 (16), Mon 8 (17), Fri 5 (18), Thu 4 (19),
        # Wed 3 Jun (20): a decision signed on Wed 3 Jun or earlier is on time, Thu 4 Jun is late.
        # Signed Fri 24 Apr 2026: 5 working days after, Mon 27 Apr is the Hùng Kings compensation day, Thu 30 Apr
        # and Fri 1 May are holidays: Tue 28 (1), Wed 29 (2), Mon 4 May (3), Tue 5 (4), Wed 6 May (5).
        due = transparency.deadlines(calendar, date(2026, 4, 24), date(2026, 7, 1))
        assert due.publication_due_on == date(2026, 6, 3)
        assert due.national_db_due_on == date(2026, 5, 6)
        assert transparency.on_time(date(2026, 6, 3), due.publication_due_on, date(2026, 7, 1)) is True
        assert transparency.on_time(date(2026, 6, 4), due.publication_due_on, date(2026, 7, 1)) is False
        # Public on Wed 6 May: on time; Thu 7 May: late; not public yet on 6 May: not judged; on 7 May: late.
        assert transparency.on_time(date(2026, 5, 6), due.national_db_due_on, date(2026, 6, 1)) is True
        assert transparency.on_time(date(2026, 5, 7), due.national_db_due_on, date(2026, 6, 1)) is False
        assert transparency.on_time(None, due.national_db_due_on, date(2026, 5, 6)) is None
        assert transparency.on_time(None, due.national_db_due_on, date(2026, 5, 7)) is False
        assert transparency.on_time(date(2026, 5, 1), None, date(2026, 6, 1)) is None

    def test_the_seven_components(self) -> None:
        # Name, steps, documents and result stated: all seven present (manner, time limit and fees are always
        # stated by the catalogue's schema). Without steps and result: those two are named, in the decree's order.
        full = transparency.missing_components(name="Đăng ký khai sinh", steps=[1], components=[1], results=[1])
        assert full == []
        assert transparency.missing_components(name=" ", steps=[], components=[1], results=[]) == [
            "name",
            "steps",
            "result",
        ]
        assert transparency.missing_components(name="x", steps=[1], components=[], results=[1]) == ["dossier"]
