"""Server-side SVG charts: well-formed, escaped, gaps for missing data, scaled axes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from libs.common.web.charts import Series, _scale, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_a_line_chart_is_well_formed_and_leaves_gaps() -> None:
    svg = line_chart(
        "Tỷ lệ đúng hạn <2026>",
        ["T1", "T2", "T3", "T4"],
        [Series("Tỉnh", [90.0, None, 95.5, 97.0]), Series("Xã & phường", [80, 85, 88, 91])],
        target=95,
    )
    root = ET.fromstring(svg)
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "Tỷ lệ đúng hạn <2026>"  # escaped in the markup, intact when parsed
    lines = root.findall(f"{SVG}polyline")
    # The first series is broken by its missing month: one run of two points and a lone point (no line).
    assert [len(p.get("points", "").split()) for p in lines] == [2, 4]
    assert len(root.findall(f"{SVG}circle")) == 7
    assert root.find(f"{SVG}line[@class='target']") is not None


def test_a_bar_chart_skips_missing_values() -> None:
    root = ET.fromstring(bar_chart("Hồ sơ tiếp nhận", ["Xã A", "Xã B", "Xã C"], [120, None, 45]))
    assert len(root.findall(f"{SVG}rect")) == 2


def test_axis_scale_is_round() -> None:
    assert [_scale(v) for v in (0, 7, 42, 180, 999, 1001, 18_500)] == [1.0, 10.0, 50.0, 200.0, 1000.0, 2000.0, 20000.0]
