"""Plans read as the seeds mean them (docs/reporting.md, "Plans"): the span a plan covers, the milestone a year is
judged against, and the seed plans' targets, each checked against the seed's own words."""

from __future__ import annotations

from services.reporting.plans.loader import read_plan_file, seed_files
from services.reporting.plans.rules import Plan, milestone_label, parse_plan


def seed(prefix: str) -> Plan:
    return parse_plan(read_plan_file(next(p for p in seed_files() if p.name.startswith(prefix))))


def readings(plan: Plan, year: int) -> set[tuple[str, str, float, str | None, str | None]]:
    return {
        (t.indicator, t.comparator.value, t.value, t.scope.get("level"), t.baseline) for _, t in plan.targets_for(year)
    }


class TestSpan:
    def test_a_plan_covers_the_years_between_its_first_and_last(self) -> None:
        hai_phong = seed("hai-phong")
        assert hai_phong.span == (2021, 2025)
        assert hai_phong.covers(2021) and hai_phong.covers(2023) and not hai_phong.covers(2026)
        bac_giang = seed("bac-giang-2022")
        # a one-year plan: 2026 and 2030 are outside it (the report answers 404)
        assert bac_giang.covers(2022) and not bac_giang.covers(2026) and not bac_giang.covers(2030)

    def test_years_between_milestones_take_the_next_one_and_say_so(self) -> None:
        kon_tum = seed("kon-tum")
        # milestones 2021, 2022, 2025: 2023 and 2024 are judged against 2025's targets, labelled as such
        chosen = kon_tum.targets_for(2023)
        assert {t.year for _, t in chosen} == {2025}
        assert {milestone_label(t, 2023) for _, t in chosen} == {"target for 2025"}
        assert {milestone_label(t, 2025) for _, t in kon_tum.targets_for(2025)} == {None}


class TestSeedReadings:
    def test_bac_giang_2022(self) -> None:
        plan = seed("bac-giang-2022")
        got = readings(plan, 2022)
        # seeds/000 phụ lục: "số hóa hồ sơ, kết quả giải quyết TTHC còn hiệu lực … tối thiểu 50% cấp tỉnh, 40% cấp
        # huyện, 35% cấp xã" → the share of still-valid past results digitised, by level
        for level, value in (("province", 50.0), ("district", 40.0), ("commune", 35.0)):
            assert ("digitised_valid_results_rate", "≥", value, level, None) in got
        assert not any(r[0] == "digitised_intake_rate" for r in got)
        # "tối thiểu 80% TTHC có yêu cầu nghĩa vụ tài chính được triển khai thanh toán trực tuyến" → set up online
        assert ("online_payment_enabled_rate", "≥", 80.0, None, None) in got
        assert not any(r[0] == "online_payment_procedure_rate" for r in got)
        # mục II.5 "100% bộ phận một cửa và công chức một cửa được đánh giá, chấm điểm"; mục II.6 "100% tiến độ …
        # được đồng bộ với Cổng dịch vụ công quốc gia"
        assert ("desk_evaluation_rate", "=", 100.0, None, None) in got
        assert ("portal_sync_rate", "=", 100.0, None, None) in got

    def test_bac_giang_2024_desks_evaluated(self) -> None:
        # seeds/001: "100% bộ phận một cửa và công chức một cửa được đánh giá, chấm điểm"
        assert ("desk_evaluation_rate", "=", 100.0, None, None) in readings(seed("bac-giang-2024"), 2024)

    def test_hai_phong_and_kon_tum_digitisation_path(self) -> None:
        for prefix in ("hai-phong", "kon-tum"):
            plan = seed(prefix)
            # năm 2021: still-valid results digitised 30% / 20% / 15% (sở or tỉnh, huyện, xã)
            assert readings(plan, 2021) == {
                ("digitised_valid_results_rate", "≥", 30.0, "province", None),
                ("digitised_valid_results_rate", "≥", 20.0, "district", None),
                ("digitised_valid_results_rate", "≥", 15.0, "commune", None),
            }
            # năm 2022: +20 points over 2021 at each level, beside the 2022 reuse and waiting-time targets
            got_2022 = readings(plan, 2022)
            for level in ("province", "district", "commune"):
                assert ("digitised_valid_results_rate", "≥", 20.0, level, "previous_year") in got_2022
            assert ("reuse_rate", "≥", 30.0, None, None) in got_2022
            # 2023–2025: results of resolved dossiers digitised +20 points a year, 100% by 2025
            for year in (2023, 2024, 2025):
                got = readings(plan, year)
                assert ("e_result_rate", "≥", 20.0, None, "previous_year") in got
                assert ("e_result_rate", "=", 100.0, None, None) in got
