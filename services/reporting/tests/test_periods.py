"""Reporting windows: Decree 09/2019 cut-off windows and calendar windows, half-open, local dates → UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.reporting.reports.periods import (
    PeriodKind,
    WindowSystem,
    calendar_window,
    custom_window,
    official_window,
    previous,
    same_period_previous_year,
    year_to_date,
)


class TestOfficialWindows:
    @pytest.mark.parametrize(
        ("quarter", "first_on", "last_on"),
        [
            # Q1 = 15 Dec of the previous year – 14 Mar (Decree 09/2019 Art. 12)
            (1, date(2023, 12, 15), date(2024, 3, 14)),
            (2, date(2024, 3, 15), date(2024, 6, 14)),
            (3, date(2024, 6, 15), date(2024, 9, 14)),
            (4, date(2024, 9, 15), date(2024, 12, 14)),
        ],
    )
    def test_quarters(self, quarter: int, first_on: date, last_on: date) -> None:
        w = official_window(PeriodKind.QUARTER, 2024, quarter)
        assert (w.first_on, w.last_on) == (first_on, last_on)
        assert w.system is WindowSystem.OFFICIAL

    def test_quarter_instants_are_local_midnights_half_open(self) -> None:
        # 15/12/2023 00:00 in Hanoi (UTC+7) is 14/12/2023 17:00 UTC; the end is 15/03/2024 00:00 local (exclusive),
        # so a dossier received at 23:59 local on 14/03 still counts in Q1.
        w = official_window("quarter", 2024, 1)
        assert w.start == datetime(2023, 12, 14, 17, 0, tzinfo=UTC)
        assert w.end == datetime(2024, 3, 14, 17, 0, tzinfo=UTC)
        assert w.contains(datetime(2024, 3, 14, 16, 59, tzinfo=UTC))
        assert not w.contains(w.end)
        assert w.contains(w.start)

    def test_month_runs_from_the_15th_of_the_previous_month(self) -> None:
        # January 2024's report: 15/12/2023 – 14/01/2024
        w = official_window("month", 2024, 1)
        assert (w.first_on, w.last_on) == (date(2023, 12, 15), date(2024, 1, 14))
        # March 2024 in a leap year: 15/02 – 14/03 (29 February included: 15..29 Feb = 15 days + 14 = 29 days)
        march = official_window("month", 2024, 3)
        assert (march.first_on, march.last_on, march.days) == (date(2024, 2, 15), date(2024, 3, 14), 29)

    def test_half_year_and_year(self) -> None:
        h1 = official_window("half", 2024, 1)  # 6 months: 15 Dec – 14 Jun
        assert (h1.first_on, h1.last_on) == (date(2023, 12, 15), date(2024, 6, 14))
        h2 = official_window("half", 2024, 2)  # the same rule for the second half: 15 Jun – 14 Dec
        assert (h2.first_on, h2.last_on) == (date(2024, 6, 15), date(2024, 12, 14))
        y = official_window("year", 2024)  # year: 15 Dec – 14 Dec; 2024 is a leap year: 366 days
        assert (y.first_on, y.last_on, y.days) == (date(2023, 12, 15), date(2024, 12, 14), 366)

    def test_labels_state_the_window(self) -> None:
        assert official_window("quarter", 2024, 1).describe() == "Quý I/2024 (15/12/2023 – 14/03/2024)"

    def test_invalid_number(self) -> None:
        with pytest.raises(ValueError):
            official_window("quarter", 2024, 5)


class TestCalendarWindows:
    def test_quarter_month_year(self) -> None:
        q1 = calendar_window("quarter", 2024, 1)
        assert (q1.first_on, q1.last_on) == (date(2024, 1, 1), date(2024, 3, 31))
        assert q1.start == datetime(2023, 12, 31, 17, 0, tzinfo=UTC)
        feb = calendar_window("month", 2024, 2)
        assert (feb.first_on, feb.last_on) == (date(2024, 2, 1), date(2024, 2, 29))
        dec = calendar_window("month", 2024, 12)
        assert (dec.first_on, dec.last_on) == (date(2024, 12, 1), date(2024, 12, 31))
        y = calendar_window("year", 2024)
        assert (y.first_on, y.last_on, y.system) == (date(2024, 1, 1), date(2024, 12, 31), WindowSystem.CALENDAR)


class TestNeighbours:
    def test_previous_quarter_of_q1_is_q4_of_the_year_before(self) -> None:
        p = previous(official_window("quarter", 2024, 1))
        assert (p.first_on, p.last_on, p.label) == (date(2023, 9, 15), date(2023, 12, 14), "Quý IV/2023")

    def test_year_to_date_from_the_official_year_start(self) -> None:
        ytd = year_to_date(official_window("quarter", 2024, 3))
        assert (ytd.first_on, ytd.last_on) == (date(2023, 12, 15), date(2024, 9, 14))
        assert year_to_date(calendar_window("quarter", 2024, 2)).first_on == date(2024, 1, 1)

    def test_same_period_previous_year(self) -> None:
        w = same_period_previous_year(official_window("year", 2022))
        assert (w.first_on, w.last_on) == (date(2020, 12, 15), date(2021, 12, 14))

    def test_custom(self) -> None:
        w = custom_window(date(2024, 1, 1), date(2024, 1, 10))
        assert w.days == 10
        assert previous(w).last_on == date(2023, 12, 31)
        with pytest.raises(ValueError):
            custom_window(date(2024, 1, 2), date(2024, 1, 1))
