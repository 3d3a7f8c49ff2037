"""The day aggregates (fold/aggregates.py, fold/aggregate_store.py): the pure contributions agree with
``dossier_flags`` for every window that contains the anchor day; the fold keeps them equal to a recount from the
facts whatever order events arrive in; and the reports read from them give what the facts give."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.contract.envelope import Envelope
from libs.common.contract.events import Channel, PaymentChannel, Rating, TransferMode
from libs.common.db import create_engine, session_factory
from libs.common.testing import create_postgres_database, drop_postgres_database, postgres_server_url, unique_name
from services.reporting import models as m
from services.reporting.fold import aggregate_store
from services.reporting.fold import repository as fold_repository
from services.reporting.fold.aggregates import (
    ANCHORS,
    COUNTERS,
    FLAG_INPUTS,
    LATE_NOTED,
    contributions,
    delta,
    half_month_start,
    local_day,
    window_spans,
)
from services.reporting.fold.facts import DossierFact
from services.reporting.models import aggregate_t
from services.reporting.reports import repository
from services.reporting.reports.indicators import DOSSIER_FLAGS, dossier_flags, dossier_sum, evaluate_all, group_facts
from services.reporting.reports.periods import Window, calendar_window, custom_window, official_window
from services.reporting.reports.scope import Scope
from services.reporting.tests.conftest import Feeder
from services.reporting.tests.factory import (
    COMMUNE_AGENCY,
    DISTRICT_AGENCY,
    JUSTICE,
    LAND,
    PROVINCE_AGENCY,
    Dossier,
    vn,
)
from services.reporting.tests.test_indicators import random_facts
from services.reporting.tests.test_migration_pseudonym import _step


def windows() -> list[Window]:
    out = [official_window("quarter", 2024, q) for q in (1, 2, 3)] + [
        official_window("year", 2024),
        calendar_window("month", 2024, 2),
        calendar_window("quarter", 2023, 4),
        custom_window(date(2024, 1, 10), date(2024, 3, 20)),  # whole half months and days at both edges
    ]
    rng = random.Random(5)
    for _ in range(12):  # short custom windows: single days and weeks whose edges cut through the data
        first = date(2023, 10, 1) + timedelta(days=rng.randrange(300))
        out.append(custom_window(first, first + timedelta(days=rng.choice([0, 0, 1, 6, 13]))))
    return out


def anchored_expected(f: DossierFact, w: Window) -> dict[str, int]:
    """The anchored parts of ``dossier_flags(f, w)``: the late sub-flags restricted to dossiers finished in ``w``."""
    flags = dossier_flags(f, w)
    out = {name: int(flags[name]) for names in ANCHORS.values() for name in names if name not in LATE_NOTED}
    finished_late = w.contains(f.finished_at) and f.outcome == "late" and f.received_at is not None
    out["late_apologised"] = int(finished_late and f.apologised_at is not None and f.apologised_at < w.end)
    out["late_apologised_in_time"] = int(bool(out["late_apologised"]) and f.apology_in_time is True)
    out["late_explained"] = int(finished_late and f.explained_at is not None and f.explained_at < w.end)
    return out


def from_days(f: DossierFact, w: Window) -> dict[str, int]:
    """What the reports compute for one dossier: the day rows of ``w`` summed, minus the late dossiers finished in
    ``w`` noted at or after its end (the residual query)."""
    out = dict.fromkeys(COUNTERS, 0)
    for key, counts in contributions(f).items():
        if w.first_on <= key[0] <= w.last_on and key[1] != "desk_received":
            for name, n in counts.items():
                out[name] += n
    if w.contains(f.finished_at) and f.outcome == "late" and f.received_at is not None:
        apologised_after = f.apologised_at is not None and f.apologised_at >= w.end
        out["late_apologised"] -= int(apologised_after)
        out["late_apologised_in_time"] -= int(apologised_after and f.apology_in_time is True)
        out["late_explained"] -= int(f.explained_at is not None and f.explained_at >= w.end)
    return out


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


class TestContributions:
    def test_every_window_containing_the_anchor_day_counts_what_dossier_flags_says(self) -> None:
        facts = random_facts(400, seed=23)
        facts.append(replace(facts[0], dossier_code="X", received_at=None))  # counted nowhere before its receipt
        for w in windows():
            for f in facts:
                assert from_days(f, w) == anchored_expected(f, w), (f.dossier_code, w.label)

    def test_desk_rows_count_receipts_at_the_receiving_agency(self) -> None:
        f = replace(random_facts(1)[0], receiving_agency_code=COMMUNE_AGENCY, receiving_level="commune")
        assert f.received_at is not None
        desk = [(k, v) for k, v in contributions(f).items() if k[1] == "desk_received"]
        assert desk == [((local_day(f.received_at), "desk_received", "commune", COMMUNE_AGENCY, *desk[0][0][4:]),
                         {"received": 1})]  # fmt: skip

    def test_local_day_boundaries(self) -> None:
        assert local_day(vn(2024, 3, 14, 23, 59)) == date(2024, 3, 14)
        assert local_day(vn(2024, 3, 15, 0, 0)) == date(2024, 3, 15)  # 17:00 UTC the day before

    def test_the_flag_inputs_are_all_a_fact_contributes_from(self) -> None:
        for f in random_facts(200, seed=29):
            reduced = DossierFact(**{name: getattr(f, name) for name in FLAG_INPUTS})
            assert contributions(reduced) == contributions(f)

    def test_half_months_tile_every_window(self) -> None:
        for w in [*windows(), custom_window(date(2024, 2, 15), date(2024, 2, 29))]:
            halves, runs = window_spans(w.first_on, w.last_on)
            days = [d for first, last in runs for d in _days(first, last)]
            if halves is not None:
                starts = [d for d in _days(*halves) if d.day in (1, 15)]
                days += [d for d in _days(starts[0], w.last_on) if half_month_start(d) in starts]
                assert all(half_month_start(d) == d for d in (halves[0], halves[1]))
            assert sorted(days) == list(_days(w.first_on, w.last_on)), w.label
        assert window_spans(date(2024, 6, 15), date(2024, 9, 14)) == ((date(2024, 6, 15), date(2024, 9, 1)), [])
        assert window_spans(date(2024, 7, 3), date(2024, 8, 20)) == (
            (date(2024, 7, 15), date(2024, 8, 1)),
            [(date(2024, 7, 3), date(2024, 7, 14)), (date(2024, 8, 15), date(2024, 8, 20))],
        )

    def test_delta_is_new_minus_old_and_only_what_moves(self) -> None:
        old, new = random_facts(50, seed=31), random_facts(50, seed=37)
        change = delta(old, new)
        totals: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for sign, facts in ((1, new), (-1, old)):
            for f in facts:
                for key, counts in contributions(f).items():
                    for name, n in counts.items():
                        totals[key][name] += sign * n
        assert change == {k: {n: c for n, c in v.items() if c} for k, v in totals.items() if any(v.values())}
        assert delta(old, old) == {}
        returned = [replace(f, returned_at=f.finished_at, result_count=2) for f in old]  # no flag input moved
        assert delta(old, returned) == {}
        assert delta([], old[:1]) == contributions(old[0]) and delta(old[:1], []) == {
            k: {n: -c for n, c in v.items()} for k, v in contributions(old[0]).items()
        }


# ---------------------------------------------------------------------------------------------------- the fold

AGENCIES = [PROVINCE_AGENCY, DISTRICT_AGENCY, COMMUNE_AGENCY]


def lives(n: int, seed: int) -> list[Dossier]:
    """Dossiers of every fate across agencies, sectors, procedures and days (some events near local midnight)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        received = vn(2024, 1, 2, 8) + timedelta(hours=rng.randrange(0, 24 * 120), minutes=rng.choice([0, 59]))
        due = received + timedelta(days=rng.randrange(1, 12))
        d = Dossier(
            f"{AGENCIES[i % 3]}-A{i:04d}",
            received_at=received,
            due_at=due,
            agency=AGENCIES[i % 3],
            channel=rng.choice([Channel.COUNTER, Channel.ONLINE, Channel.POSTAL]),
            sector=rng.choice([JUSTICE, LAND]),
            procedure=rng.choice(["1.001193", "1.000002"]),
            has_fees=rng.random() < 0.3,
            certification=rng.random() < 0.2,
            identified=rng.random() < 0.5,
        )
        if rng.random() < 0.3:
            d.transfer(received + timedelta(hours=3), rng.choice([TransferMode.ELECTRONIC, TransferMode.PAPER]))
        if rng.random() < 0.3:
            asked = received + timedelta(days=1)
            d.supplement(1, asked, asked + timedelta(days=2), due + timedelta(days=2), in_time=rng.random() < 0.7)
        if rng.random() < 0.3:
            d.pay(f"pay-{i}", received + timedelta(hours=1), 10_000, PaymentChannel.ONLINE)
        roll = rng.random()
        done = received + timedelta(days=rng.randrange(0, 16), hours=rng.randrange(0, 24))
        if rng.random() < 0.3:  # an apology or explanation, sometimes long after the dossier finished
            at = received + timedelta(days=rng.randrange(1, 40))
            d.apologise(at, at + timedelta(days=3), in_time=rng.choice([True, False, None]))
        if rng.random() < 0.2:
            d.explain(received + timedelta(days=rng.randrange(1, 40)))
        if roll < 0.6:
            d.resolve(done, electronic=rng.random() < 0.6)
            if rng.random() < 0.4:
                d.rate(done + timedelta(days=1), rng.choice([Rating.SATISFIED, Rating.UNSATISFIED]))
        elif roll < 0.7:
            d.refuse(done)
        elif roll < 0.8:
            d.withdraw(received + timedelta(days=1))
        out.append(d)
    return out


def shuffled_with_duplicates(dossiers: list[Dossier], seed: int) -> list[Envelope]:
    rng = random.Random(seed)
    envelopes = [e for d in dossiers for e in d.envelopes()]
    rng.shuffle(envelopes)  # a dossier's events out of order, its receipt often after its later steps
    redelivered = rng.sample(envelopes, len(envelopes) // 5)
    return envelopes + redelivered


async def stored_rows(engine: AsyncEngine) -> dict[tuple[Any, ...], dict[str, int]]:
    """The aggregate rows with a non-zero counter (a row can fall back to zero when a dossier moves out)."""
    async with session_factory(engine)() as session:
        result = await session.execute(select(aggregate_t))
        out = {}
        for row in result:
            key = tuple(row._mapping[c] for c in aggregate_store.KEY_COLUMNS)
            counts = {c: int(row._mapping[c]) for c in COUNTERS if row._mapping[c]}
            assert all(n > 0 for n in counts.values()), key
            if counts:
                out[key] = counts
    return out


class TestTheFoldKeepsThemEqualToARecount:
    @pytest.mark.asyncio
    async def test_random_order_with_duplicates(self, engine: AsyncEngine, feeder: Feeder) -> None:
        dossiers = lives(150, seed=41)
        await feeder.feed(shuffled_with_duplicates(dossiers, seed=43), batch_size=37)
        incremental = await stored_rows(engine)
        assert incremental  # the fold wrote them
        async with session_factory(engine)() as session, session.begin():
            await aggregate_store.recount(session)
        assert await stored_rows(engine) == incremental

        async with session_factory(engine)() as session:
            facts = [DossierFact(**{n: getattr(r, n) for n in m.FACT_COLUMNS})
                     for r in (await session.execute(select(m.DossierFact))).scalars()]  # fmt: skip
            scopes = [[], [Scope(levels=frozenset({"district"}))], [Scope(agencies=frozenset({COMMUNE_AGENCY}))]]
            drilled = {official_window("quarter", 2024, 1), custom_window(date(2024, 1, 10), date(2024, 3, 20))}
            for w in windows():
                expected = group_facts(facts, w)
                got = await repository.grouped(session, w)
                from_facts = await repository.grouped(session, w, aggregates=False)
                assert got.comparable() == from_facts.comparable(), w.label
                # the pure twin too (it has no payments here: facts read back without their payment rows)
                assert got.comparable()[:2] == expected.comparable()[:2], w.label
                assert got.comparable()[4] == expected.comparable()[4], w.label  # desk receipts
                for scope in scopes:
                    assert [r.as_dict() for r in evaluate_all(got, scope)] == [
                        r.as_dict() for r in evaluate_all(from_facts, scope)
                    ], (w.label, scope)
                    where = scope[0] if scope else None
                    if w in drilled:  # the drill-down's total of an anchored flag is read from the rows too
                        sums = dossier_sum(from_facts, scope)
                        for flag in COUNTERS:
                            total, codes = await repository.drill_down(session, w, flag, where, 10_000, None)
                            assert total == len(codes) == sums[flag], (w.label, scope, flag)
                    scoped = await repository.grouped(session, w, where=where)
                    assert [r.as_dict() for r in evaluate_all(scoped, scope)] == [
                        r.as_dict() for r in evaluate_all(from_facts, scope)
                    ], (w.label, scope, "pushed into SQL")

    @pytest.mark.asyncio
    async def test_windows_sharing_instants_read_them_once(self, engine: AsyncEngine, feeder: Feeder) -> None:
        await feeder.feed(shuffled_with_duplicates(lives(80, seed=53), seed=59), batch_size=50)
        consecutive = [calendar_window("month", 2024, m) for m in (1, 2, 3, 4)] + [
            custom_window(date(2024, 1, 1), date(2024, 4, 30))  # ends where April ends, starts where January does
        ]
        instants: dict[Any, Any] = {}
        async with session_factory(engine)() as session:
            for w in consecutive:
                shared = await repository.grouped(session, w, instants=instants)
                alone = await repository.grouped(session, w, aggregates=False)
                assert shared.comparable() == alone.comparable(), w.label
                if w.first_on > date(2024, 1, 2):  # the first receipts are on 2 January
                    assert any(c["carried_over"] for c in shared.dossiers.values()), w.label
        assert len(instants) == 5  # 1 Jan, 1 Feb, 1 Mar, 1 Apr, 1 May: each read once

    @pytest.mark.asyncio
    async def test_a_refold_that_moves_a_dossier_moves_its_counts(self, engine: AsyncEngine, feeder: Feeder) -> None:
        d = Dossier(f"{PROVINCE_AGENCY}-M1", received_at=vn(2024, 2, 1), due_at=vn(2024, 2, 3))
        await feeder.feed(d.envelopes()[:1])
        late_receipt = Dossier(f"{PROVINCE_AGENCY}-M2", received_at=vn(2024, 2, 5), due_at=vn(2024, 2, 6))
        late_receipt.resolve(vn(2024, 2, 9))
        await feeder.feed(late_receipt.envelopes()[1:])  # finished before its receipt is known: counted nowhere
        assert {k[2] for k in await stored_rows(engine)} == {"received", "desk_received"}
        d.resolve(vn(2024, 2, 2, 23, 30)).rate(vn(2024, 2, 4), Rating.SATISFIED)
        await feeder.feed(d.envelopes()[1:] + late_receipt.envelopes()[:1])
        rows = await stored_rows(engine)
        finished = {k: v for k, v in rows.items() if k[2] == "finished" and k[0] == "day"}
        assert [(k[1], v["finished"], v.get("finished_in_time", 0)) for k, v in sorted(finished.items())] == [
            (date(2024, 2, 2), 1, 1),
            (date(2024, 2, 9), 1, 0),
        ]
        async with session_factory(engine)() as session, session.begin():
            await aggregate_store.recount(session)
        assert await stored_rows(engine) == rows


def test_counters_are_dossier_flags() -> None:
    assert set(COUNTERS) <= set(DOSSIER_FLAGS)


class TestTheMigration:
    @pytest.mark.asyncio
    async def test_creating_the_table_counts_the_facts_already_there(self, backend: str, tmp_path: Path) -> None:
        server = postgres_server_url() if backend == "postgres" else None
        if backend == "postgres" and server is None:
            pytest.skip("PostgreSQL not available")
        name = unique_name("test_reporting_aggregates")
        url = (
            await create_postgres_database(server, name)
            if server is not None
            else f"sqlite+aiosqlite:///{tmp_path / f'r-{uuid.uuid4().hex[:6]}.db'}"
        )
        facts = random_facts(60, seed=47)
        engine = create_engine(url)
        try:
            await _step(url, "upgrade", "0008_transparency")
            async with session_factory(engine)() as session, session.begin():
                await fold_repository.upsert_facts(session, facts)
            await _step(url, "upgrade", "head")
            await engine.dispose()
            rows = await stored_rows(engine)
        finally:
            await engine.dispose()
            if server is not None:
                await drop_postgres_database(server, name)
        expected: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for key, counts in delta([], facts).items():
            for span, first in (("day", key[0]), ("half_month", half_month_start(key[0]))):
                for n, c in counts.items():
                    expected[(span, first, key[1], *(p or "" for p in key[2:]))][n] += c
        assert rows == {k: dict(v) for k, v in expected.items()}
