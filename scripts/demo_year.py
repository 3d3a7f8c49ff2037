"""A deterministic year of sample dossiers for the demo (``make run`` loads it once; ``--count`` to change the size).

SAMPLE DATA: invented applicants in the sample province "Tỉnh Mẫu" (H56), received over the year that ends today at
its agencies for the sample catalogue's procedures, across channels, with transfers, requests to supplement,
refusals, withdrawals, apologies, explanations, results returned and ratings, and queue tickets at the desks.

Everything goes through intake's own use cases, so the demo obeys the same rules as live data: the catalogue's
published events (waiting in catalogue's outbox) are applied to intake's replica by intake's own event handlers, and
the dossiers are sent to intake's import endpoint (``POST /imports/dossiers``), which receives each one and replays
its steps with their recorded times. Their events wait in intake's outbox until the running services publish them,
and reporting folds them like any others.

The generator only chooses *when* things happen (it reads the working calendar to pick plausible times); intake
judges due times and outcomes.

``make run`` starts this loader as one process of its Procfile (``--stay``), so the services are up at once while
the year loads (several minutes on SQLite), in chunks, each its own transaction, with a progress line per chunk.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import random
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from libs.common.calendar import VN_TZ, CalendarSettings, LimitUnit, TimeLimit, WorkingCalendar
from libs.common.contract import Envelope
from libs.common.db import create_engine, session_factory, transaction
from libs.common.messaging.tables import outbox
from libs.common.testing import running_app
from services.catalogue.config import get_settings as catalogue_settings
from services.catalogue.demo import demo_agencies, demo_procedures
from services.intake.app import create_app
from services.intake.config import get_settings as intake_settings
from services.intake.consumers import handlers as intake_handlers

SEED = 766
OPS = {"Authorization": "Bearer dev-ops"}
DESK = {"Authorization": "Bearer dev-desk"}
# Rows per import request (one transaction): small enough that the running intake service, writing to the same
# SQLite file meanwhile, never waits long for the lock.
CHUNK = 100
REFUSALS: Counter[str] = Counter()

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Đức", "Thu", "Quốc", "Kim", "Xuân", "Gia"]
GIVEN = [
    "An",
    "Bình",
    "Chi",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hùng",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Phúc",
    "Phương",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Vy",
    "Yến",
]
COMPANY = ["Công ty TNHH Thương mại", "Công ty Cổ phần Xây dựng", "Hợp tác xã Nông nghiệp", "Công ty TNHH Dịch vụ"]
PLACES = ["Tân Lập", "Hòa Bình", "Mẫu Sơn", "Trung Tâm", "Phú An", "Đồng Xuân"]
SUPPLEMENT_ITEMS = ["Bản sao giấy khai sinh", "Sơ đồ vị trí thửa đất", "Giấy ủy quyền có chứng thực", "Ảnh 4x6"]
REFUSAL = "Hồ sơ không đủ điều kiện giải quyết theo quy định"
APOLOGY = "Hồ sơ cần xác minh thêm với cơ quan liên quan"
CAUSE = "Phải lấy ý kiến cơ quan phối hợp, thời gian trả lời kéo dài"


@dataclass(frozen=True)
class Desk:
    """A one-stop desk: the agency it belongs to, its counters, and what it receives for which deciding agency."""

    agency_code: str
    level: str
    counters: tuple[str, ...]
    receives: tuple[tuple[str, str], ...]  # (procedure code, handling agency code)


# Each agency's invented officers (SAMPLE DATA): desk officers who receive, transfer and return, and specialists who
# decide, each at their own pace (how often their results come late, against an average of one), so the monthly list
# of late agencies and officers has something to rank.
DESK_OFFICERS = 2
SPECIALIST_PACES = (0.4, 0.9, 1.7)


@functools.cache
def _officers(agency_code: str) -> tuple[tuple[dict[str, Any], ...], tuple[tuple[dict[str, Any], float], ...]]:
    rng = random.Random(f"officers:{agency_code}")

    def officer(role: str, n: int, title: str) -> dict[str, Any]:
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        return {"id": f"demo.{agency_code}.{role}{n}", "display_name": name, "title": title}

    desk = tuple(officer("mc", n, "Công chức Bộ phận Một cửa") for n in range(1, DESK_OFFICERS + 1))
    specialists = tuple((officer("cv", n, "Chuyên viên"), pace) for n, pace in enumerate(SPECIALIST_PACES, start=1))
    return desk, specialists


def _working_calendar() -> WorkingCalendar:
    return WorkingCalendar.from_settings(CalendarSettings())


def _desks(first_day: date) -> list[Desk]:
    """The desks open over the demo year (district ones closed on 1 July 2025). A desk receives the procedures its
    agency lists; the province's service centre receives for the departments that list the same procedure."""
    agencies = [a for a in demo_agencies() if a["level"] != "district" or first_day < date(2025, 7, 1)]
    handlers_of: dict[str, list[str]] = {}
    for agency in agencies:
        if not agency.get("desks"):
            for code in agency.get("procedure_codes", []):
                handlers_of.setdefault(code, []).append(agency["code"])
    desks = []
    for agency in agencies:
        if not agency.get("desks"):
            continue
        receives = tuple(
            (code, handler)
            for code in agency.get("procedure_codes", [])
            if agency["level"] in _procedure(code)["levels"]
            for handler in (handlers_of.get(code) or [agency["code"]])[:1]
        )
        if receives:
            desks.append(Desk(agency["code"], agency["level"], tuple(agency["desks"]), receives))
    return desks


@functools.cache
def _procedure(code: str) -> dict[str, Any]:
    """The procedure as its newest version says (the demo year lies after the sample catalogue's last amendment)."""
    for p in demo_procedures():
        if p["code"] == code:
            current = dict(p)
            for amendment in p.get("amendments", []):
                current.update(amendment["changes"])
            return current
    raise KeyError(code)


def _person(rng: random.Random) -> dict[str, Any]:
    province = rng.choice(["001", "024", "031", "036", "038", "079"])
    born = rng.randint(1950, 2006)
    century_sex = ("2" if born >= 2000 else "0") if rng.random() < 0.5 else ("3" if born >= 2000 else "1")
    id_code = f"{province}{century_sex}{born % 100:02d}{rng.randint(0, 999_999):06d}"
    middle = rng.choice(MIDDLE)
    name = f"{rng.choice(FAMILY)} {middle} {rng.choice(GIVEN)}"
    return {"kind": "person", "id_code": id_code, "name": name, "identified_by_vneid": rng.random() < 0.6}


def _organisation(rng: random.Random) -> dict[str, Any]:
    code = f"{rng.choice(['01', '02', '03', '04'])}{rng.randint(0, 99_999_999):08d}"
    return {"kind": "organisation", "id_code": code, "name": f"{rng.choice(COMPANY)} {rng.choice(PLACES)}"}


def _working_instant(cal: WorkingCalendar, rng: random.Random, day: date) -> datetime:
    """A time inside the morning or afternoon opening on a working day (local), as an aware instant."""
    minute = rng.randint(0, 179)
    start = time(8, 0) if rng.random() < 0.6 else time(13, 45)
    local = datetime.combine(day, start, VN_TZ) + timedelta(minutes=minute)
    return local


def _after(cal: WorkingCalendar, at: datetime, working_days: float) -> datetime:
    """``at`` moved by this many working days of opening hours (fractions as working hours)."""
    return cal.add_working_time(at, cal.hours.daily() * working_days)


def _limit(procedure: dict[str, Any]) -> TimeLimit:
    tl = procedure["time_limit"]
    return TimeLimit(tl["amount"], LimitUnit(tl["unit"]))


def dossier_rows(today: date, count: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """``count`` import rows received over the 365 days that end ``today``, in time order; deterministic."""
    rng = random.Random(seed)
    cal = _working_calendar()
    now = datetime.combine(today, time(7, 0), VN_TZ)
    first = today - timedelta(days=364)
    days = [first + timedelta(days=i) for i in range(365) if cal.is_working_day(first + timedelta(days=i))]
    desks = _desks(first)
    weights = [6.0 if d.level == "commune" else 3.0 if d.agency_code == "000.00.01.H56" else 1.0 for d in desks]
    receipts = sorted((_working_instant(cal, rng, rng.choice(days[:-1])), i) for i in range(count))
    for received_at, _ in receipts:
        desk = rng.choices(desks, weights)[0]
        code, handling = rng.choice(desk.receives)
        row = _dossier(rng, cal, now, desk, _procedure(code), handling, received_at)
        if row is not None:
            yield row


def _channel(rng: random.Random, procedure: dict[str, Any]) -> str:
    online = procedure.get("online_level", "none") != "none"
    roll = rng.random()
    if online and roll < 0.55:
        return "online"
    if procedure.get("postal_allowed") and roll > 0.95:
        return "postal"
    return "counter"


def _dossier(
    rng: random.Random,
    cal: WorkingCalendar,
    now: datetime,
    desk: Desk,
    procedure: dict[str, Any],
    handling: str,
    at: datetime,
) -> dict[str, Any] | None:
    channel = _channel(rng, procedure)
    applicant = _person(rng) if rng.random() < 0.9 else _organisation(rng)
    components = [
        {
            "code": c["code"],
            "form": "electronic" if channel == "online" else ("warehouse" if rng.random() < 0.15 else "paper"),
        }
        for c in procedure.get("components", [])
        if c.get("required", True)
    ]
    row: dict[str, Any] = {
        "procedure_code": procedure["code"],
        "receiving_agency_code": desk.agency_code,
        "handling_agency_code": handling,
        "channel": channel,
        "applicant": applicant,
        "components": components,
        "desk": None if channel == "online" else rng.choice(desk.counters),
        "at": at.isoformat(),
    }
    clerk = rng.choice(_officers(desk.agency_code)[0])
    specialist, pace = rng.choice(_officers(handling)[1])
    if channel != "online":  # an online dossier arrives through the portal: no officer receives it
        row["officer"] = clerk
    steps: list[dict[str, Any]] = []
    due = cal.due_at(at, _limit(procedure))
    clock = at

    def step(command: str, when: datetime, officer: dict[str, Any] | None = None, **body: Any) -> bool:
        if when >= now:
            return False
        steps.append({"command": command, "at": when.isoformat(), **body, **({"officer": officer} if officer else {})})
        return True

    roll = rng.random()
    if roll < 0.015:
        step("withdraw", clock + timedelta(hours=rng.randint(2, 30)), clerk, reason="Công dân xin rút hồ sơ")
        row["steps"] = steps
        return row
    if handling != desk.agency_code or rng.random() < 0.3:
        clock = _after(cal, clock, rng.uniform(0.05, 0.3))
        mode = "paper" if rng.random() < 0.1 else "electronic"
        step("transfer", clock, clerk, to_agency_code=handling, step="Thẩm định hồ sơ", mode=mode)
    if roll < 0.035:
        step("refuse", _after(cal, clock, rng.uniform(0.3, 1.5)), specialist, reason=REFUSAL)
        row["steps"] = steps
        return row
    if rng.random() < 0.08 and _limit(procedure).unit is LimitUnit.WORKING_DAYS and _limit(procedure).amount >= 3:
        asked = _after(cal, clock, rng.uniform(0.3, 1.0))
        if not step(
            "request_supplement", asked, specialist, items=[rng.choice(SUPPLEMENT_ITEMS)], reason="Thiếu giấy tờ"
        ):
            row["steps"] = steps
            return row
        back = _after(cal, asked, rng.uniform(1.0, 5.0))
        if not step("receive_supplement", back, clerk):
            row["steps"] = steps
            return row
        due = cal.paused_due_at(due, [(asked, back)])
        clock = back
    # When the result is issued, relative to the due time in force: mostly early, some on the day, some late.
    fate = rng.random()
    span = max((due - clock).total_seconds() / 3600, 1.0)
    late_share = 0.08 * pace
    if fate < late_share:
        finished = _after(cal, due, rng.uniform(0.3, 4.0))
        if rng.random() < 0.6:
            # two hours before the due time (within its last working day), never before the previous step
            apology = max(due - timedelta(hours=2), clock + timedelta(minutes=5))
            step("apologise", apology, specialist, reason=APOLOGY, new_due_at=_after(cal, due, 5).isoformat())
    elif fate < late_share + 0.14:
        finished = due - timedelta(minutes=rng.randint(15, 120))
    else:
        finished = clock + timedelta(hours=span * rng.uniform(0.2, 0.75))
    finished = max(finished, clock + timedelta(minutes=30))
    electronic = channel == "online" or rng.random() < 0.4
    decision = "approved" if rng.random() < 0.97 else "denied"
    if not step("resolve", finished, specialist, decision=decision, electronic_result=electronic):
        row["steps"] = steps
        return row
    if finished > due and rng.random() < 0.5:
        step("explain", finished + timedelta(hours=1), specialist, cause=CAUSE)
    returned = finished + timedelta(hours=rng.randint(1, 60))
    channel_back = (
        "electronic" if electronic and channel == "online" else ("postal" if rng.random() < 0.05 else "counter")
    )
    if step("return", returned, clerk, channel=channel_back) and rng.random() < 0.35:
        rating = rng.choices(["very_satisfied", "satisfied", "unsatisfied"], [70, 25, 5])[0]
        step("rate", returned + timedelta(minutes=rng.randint(1, 600)), rating=rating)
    row["steps"] = steps
    return row


async def replicate_catalogue(intake_url: str, catalogue_url: str) -> int:
    """Apply the catalogue's published events to intake's replica with intake's own handlers."""
    source = create_engine(catalogue_url)
    try:
        async with source.connect() as conn:
            rows = (await conn.execute(select(outbox.c.payload).order_by(outbox.c.id))).scalars().all()
    finally:
        await source.dispose()
    envelopes = [Envelope.model_validate_json(p) for p in rows]
    target = create_engine(intake_url)
    try:
        # The running intake service applies the same events from the broker meanwhile: if it inserts a replica row
        # between this transaction's read and write, the insert fails; a second pass finds the row and updates it.
        for attempt in range(3):
            try:
                async with transaction(session_factory(target)) as session:
                    await intake_handlers(session, envelopes)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
    finally:
        await target.dispose()
    return len(envelopes)


async def load(count: int, today: date, *, tickets: bool = True) -> int:
    # The in-process client's request log would print a line per request.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = intake_settings().model_copy(update={"kafka_enabled": False, "overdue_check_seconds": 0})
    async with running_app(create_app(settings)) as client:
        existing = (await client.get("/dossiers", params={"page_size": 1}, headers=OPS)).json().get("total", 0)
        if existing:
            print(f"intake: {existing} dossiers already there; the demo year is not loaded again")
            return 0
        applied = await replicate_catalogue(settings.database_url, catalogue_settings().database_url)
        print(f"intake: applied {applied} catalogue events to the replica")
        accepted = rejected = 0
        batch: list[dict[str, Any]] = []
        for row in dossier_rows(today, count):
            batch.append(row)
            if len(batch) == CHUNK:
                a, r = await _send(client, batch)
                accepted, rejected, batch = accepted + a, rejected + r, []
                print(f"intake: demo year: {accepted + rejected}/{count} rows sent", flush=True)
        if batch:
            a, r = await _send(client, batch)
            accepted, rejected = accepted + a, rejected + r
        served = await _queue_tickets(client, today) if tickets else 0
    print(
        f"intake: demo year loaded: {accepted} dossiers ({rejected} rows refused by intake's rules), {served} tickets",
        flush=True,
    )
    for reason, n in REFUSALS.most_common(5):
        print(f"intake: refused {n}× {reason}", flush=True)
    return accepted


async def _post(client: httpx.AsyncClient, url: str, attempts: int = 30, **kwargs: Any) -> httpx.Response:
    """POST, again while intake's SQLite file is write-locked by the running service (its relay, its consumer): the
    request's transaction was rolled back whole, so sending it again is safe."""
    for attempt in range(attempts):
        try:
            response = await client.post(url, **kwargs)
        except OperationalError:
            await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
            continue
        if response.status_code != 503:
            return response
        await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
    raise RuntimeError("intake's database stayed locked")


async def _send(client: httpx.AsyncClient, rows: list[dict[str, Any]]) -> tuple[int, int]:
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
    response = await _post(
        client, "/imports/dossiers", content=body.encode(), headers={**OPS, "content-type": "application/x-ndjson"}
    )
    response.raise_for_status()
    report = response.json()
    for row in report["rows"]:
        if row["status"] != "accepted":
            REFUSALS[row["errors"][0].get("code", "?") + ": " + row["errors"][0].get("detail", "")[:90]] += 1
    return int(report["accepted"]), int(report["rejected"])


async def _queue_tickets(client: httpx.AsyncClient, today: date, per_day: int = 6, days: int = 20) -> int:
    """A few weeks of tickets at the province's service centre and a commune desk, each called and served."""
    rng = random.Random(SEED + 1)
    cal = _working_calendar()
    served = 0
    day = today - timedelta(days=days * 7 // 5 + 2)
    while day < today:
        if cal.is_working_day(day):
            for agency in ("000.00.01.H56", "000.01.21.H56"):
                for _ in range(per_day):
                    issued = _working_instant(cal, rng, day)
                    desk = f"Quầy {rng.randint(1, 4)}"
                    ticket = await _post(
                        client,
                        "/queue/tickets",
                        json={"agency_code": agency, "desk": desk, "at": issued.isoformat()},
                        headers=DESK,
                    )
                    if ticket.status_code != 201:
                        continue
                    tid = ticket.json()["id"]
                    called = issued + timedelta(minutes=rng.randint(1, 25))
                    await _post(
                        client,
                        f"/queue/tickets/{tid}/call",
                        json={"desk": desk, "at": called.isoformat()},
                        headers=DESK,
                    )
                    done = await _post(
                        client,
                        f"/queue/tickets/{tid}/serve",
                        json={"at": (called + timedelta(minutes=2)).isoformat()},
                        headers=DESK,
                    )
                    served += done.status_code == 200
        day += timedelta(days=1)
    return served


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="dossiers to generate (default 20000)")
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="last day of the year (default today)")
    parser.add_argument(
        "--stay",
        action="store_true",
        help="keep running once loaded, until stopped (a Procfile process: honcho stops all when one exits)",
    )
    args = parser.parse_args()
    today = args.today or datetime.now(VN_TZ).date()
    try:
        asyncio.run(load(args.count, today))
    except Exception as exc:  # the demo data failing must not stop the services beside it
        print(f"intake: the demo year was not loaded: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        if not args.stay:
            return 1
    if args.stay:
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
