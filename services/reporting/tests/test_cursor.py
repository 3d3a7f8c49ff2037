"""The drill-down's keyset cursor: round trip, binding to its drill-down, refusal of anything else, paging."""

from __future__ import annotations

import string

import pytest

from services.reporting.reports import cursor


def test_round_trip_is_opaque_and_url_safe() -> None:
    token = cursor.encode("on_time_rate:denominator", "000.00.15.H56-240108-0001")
    assert "000.00.15" not in token and set(token) <= set(string.ascii_letters + string.digits + "-_")
    assert cursor.decode("on_time_rate:denominator", token) == "000.00.15.H56-240108-0001"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "%%%",
        "bm90IGpzb24",  # "not json"
        cursor.encode("on_time_rate:denominator", "x").replace("e", "Z"),
        "eyJ2IjoyLCJxIjoib25fdGltZV9yYXRlOmRlbm9taW5hdG9yIiwiYWZ0ZXIiOiJ4In0",  # version 2
        "W10",  # []
        "A" * (cursor.MAX_LENGTH + 1),
        cursor.encode("on_time_rate:denominator", "000\x00"),  # a NUL: PostgreSQL would refuse the parameter
    ],
)
def test_refuses_what_it_did_not_issue(token: str) -> None:
    with pytest.raises(cursor.BadCursor):
        cursor.decode("on_time_rate:denominator", token)


def test_bound_to_its_drill_down() -> None:
    token = cursor.encode("on_time_rate:denominator", "x")
    with pytest.raises(cursor.BadCursor, match="another drill-down"):
        cursor.decode("on_time_rate:numerator", token)


def test_page_with_one_extra_item() -> None:
    # fetched limit + 1 = 3: two items and a cursor after the second; fewer than that: the last page
    items, following = cursor.page(["a", "b", "c"], 2, "q")
    assert items == ["a", "b"] and following is not None and cursor.decode("q", following) == "b"
    assert cursor.page(["a", "b"], 2, "q") == (["a", "b"], None)
    assert cursor.page([], 2, "q") == ([], None)
