"""Drift between reporting's ledger and what intake says it published, found per dossier and repaired.

For each local day, reporting compares the count and digest of the intake event ids it holds per dossier with
intake's (``GET /outbox/digest``, libs.common.messaging.digest); for each dossier that differs it reads intake's list
of that dossier's events (``GET /outbox/aggregates/{code}``) and splits the difference into events missing here
and events intake does not know. Missing ones are asked for again (``POST /outbox/republish``): intake's relay
sends them once more and the inbox makes the ones reporting already holds harmless.

Events younger than the grace period may still be on their way and are not counted missing; events this consumer
dead-lettered are not asked for again (republishing cannot fix them: see docs/operations.md, "Dead letters").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.app import Runtime
from libs.common.calendar import VN_TZ
from libs.common.db import transaction
from libs.common.logging import get_logger
from libs.common.messaging.digest import day_bounds, summarise
from libs.common.messaging.tables import dead_letter
from libs.common.metrics import DRIFT_CHECKS, DRIFT_EVENTS, DRIFT_REPUBLISHED
from services.reporting.config import ReportingSettings
from services.reporting.consumers import CONSUMER
from services.reporting.errors import IntakeUnavailable
from services.reporting.fold.ledger import DOSSIER_EVENTS
from services.reporting.models import DossierEvent

log = get_logger(__name__)
PRODUCER = "intake"
# The ledger's events that intake produces (the others come from digitisation and payments).
INTAKE_EVENTS: tuple[str, ...] = tuple(m.event_name for m in DOSSIER_EVENTS if m.event_name.startswith("intake."))
REPUBLISH_CHUNK = 500


@dataclass
class DossierDrift:
    dossier_code: str
    missing: list[str] = field(default_factory=list)  # intake published them, reporting does not hold them
    unknown: list[str] = field(default_factory=list)  # reporting holds them, intake never wrote them

    def as_dict(self) -> dict[str, Any]:
        return {
            "dossier_code": self.dossier_code,
            "missing_in_reporting": self.missing,
            "unknown_to_intake": self.unknown,
        }


@dataclass
class DriftResult:
    first: date
    last: date
    intake_events: int = 0
    reporting_events: int = 0
    dossiers: list[DossierDrift] = field(default_factory=list)
    republished: int = 0
    unchecked: int = 0  # dossiers whose digests differ beyond max_dossiers: the next pass looks at them

    @property
    def missing(self) -> int:
        return sum(len(d.missing) for d in self.dossiers)

    @property
    def unknown(self) -> int:
        return sum(len(d.unknown) for d in self.dossiers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.first,
            "to": self.last,
            "intake_events": self.intake_events,
            "reporting_events": self.reporting_events,
            "missing_in_reporting": self.missing,
            "unknown_to_intake": self.unknown,
            "in_sync": not self.dossiers and not self.unchecked,
            "unchecked_dossiers": self.unchecked,
            "dossiers": [d.as_dict() for d in self.dossiers],
            "republished": self.republished,
        }


def intake_client(settings: ReportingSettings, transport: Any = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=settings.intake_url,
        timeout=settings.intake_timeout_seconds,
        headers={"Authorization": f"Bearer {settings.intake_api_key}"},
        transport=transport,
    )


async def _get(client: httpx.AsyncClient, path: str, params: Any) -> Any:
    try:
        response = await client.get(path, params=params)
    except httpx.HTTPError as exc:
        raise IntakeUnavailable(f"Intake at {client.base_url} did not answer: {exc!r}") from exc
    if response.status_code != 200:
        raise IntakeUnavailable(f"Intake answered {response.status_code} to GET {path}: {response.text[:300]}")
    return response.json()


async def _held_of_days(session: AsyncSession, first: date, last: date) -> list[tuple[str, str]]:
    start, end = day_bounds(first)[0], day_bounds(last)[1]
    rows = await session.execute(
        select(DossierEvent.dossier_code, DossierEvent.event_id).where(
            DossierEvent.name.in_(INTAKE_EVENTS), DossierEvent.recorded_at >= start, DossierEvent.recorded_at < end
        )
    )
    return [(str(code), str(event_id)) for code, event_id in rows.all()]


async def _held_of_dossier(session: AsyncSession, code: str) -> set[str]:
    rows = await session.execute(
        select(DossierEvent.event_id).where(DossierEvent.dossier_code == code, DossierEvent.name.in_(INTAKE_EVENTS))
    )
    return {str(i) for i in rows.scalars()}


async def _dead_lettered(session: AsyncSession) -> set[str]:
    ids = set()
    for value in (
        await session.execute(select(dead_letter.c.value).where(dead_letter.c.consumer == CONSUMER))
    ).scalars():
        try:
            record = json.loads(value)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            ids.add(record["id"])
    return ids


async def compare(
    session: AsyncSession,
    client: httpx.AsyncClient,
    first: date,
    last: date,
    *,
    settled_before: datetime,
    max_dossiers: int = 500,
) -> DriftResult:
    """Per dossier, the intake events of the local days ``first``..``last`` that one side holds and the other
    does not. Events intake wrote at or after ``settled_before`` are not counted missing (still on their way)."""
    names = {"name": list(INTAKE_EVENTS)}
    theirs_body = await _get(client, "/outbox/digest", {"day": first.isoformat(), "until": last.isoformat(), **names})
    theirs = {a["key"]: {"count": a["count"], "digest": a["digest"]} for a in theirs_body["aggregates"]}
    held = await _held_of_days(session, first, last)
    ours = summarise(held)
    result = DriftResult(first, last, intake_events=int(theirs_body["count"]), reporting_events=len(held))
    differing = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
    dead = await _dead_lettered(session) if differing else set()
    result.unchecked = max(len(differing) - max_dossiers, 0)
    for code in differing[:max_dossiers]:
        events = (await _get(client, f"/outbox/aggregates/{code}", names))["events"]
        written = {e["id"] for e in events}
        settled = {e["id"] for e in events if e["published"] and datetime.fromisoformat(e["time"]) < settled_before}
        mine = await _held_of_dossier(session, code)
        drift = DossierDrift(code, missing=sorted(settled - mine - dead), unknown=sorted(mine - written))
        if drift.missing or drift.unknown:
            result.dossiers.append(drift)
    return result


async def republish(client: httpx.AsyncClient, codes: Sequence[str]) -> int:
    """Ask intake to publish these dossiers' events again; returns how many it handed back to its relay."""
    total = 0
    for i in range(0, len(codes), REPUBLISH_CHUNK):
        body = {"keys": list(codes[i : i + REPUBLISH_CHUNK]), "names": list(INTAKE_EVENTS)}
        try:
            response = await client.post("/outbox/republish", json=body)
        except httpx.HTTPError as exc:
            raise IntakeUnavailable(f"Intake at {client.base_url} did not answer: {exc!r}") from exc
        if response.status_code != 200:
            raise IntakeUnavailable(f"Intake answered {response.status_code} to republish: {response.text[:300]}")
        total += int(response.json()["republished"])
    return total


def days_back(today: date, days: int) -> tuple[date, date]:
    return today - timedelta(days=max(days, 1) - 1), today


async def check_and_repair(
    rt: Runtime, settings: ReportingSettings, first: date, last: date, *, repair: bool = True, transport: Any = None
) -> DriftResult:
    """One pass: compare, set the drift gauges, and (``repair``) ask intake to republish what is missing."""
    settled_before = rt.clock.now() - timedelta(seconds=settings.drift_grace_seconds)
    try:
        async with intake_client(settings, transport) as client:
            async with transaction(rt.sessions) as session:
                result = await compare(session, client, first, last, settled_before=settled_before)
            DRIFT_EVENTS.labels(PRODUCER, "missing").set(result.missing)
            DRIFT_EVENTS.labels(PRODUCER, "unknown").set(result.unknown)
            DRIFT_EVENTS.labels(PRODUCER, "dossiers").set(len(result.dossiers))
            to_ask = [d.dossier_code for d in result.dossiers if d.missing]
            if repair and to_ask:
                result.republished = await republish(client, to_ask)
                DRIFT_REPUBLISHED.labels(PRODUCER).inc(result.republished)
                log.warning(
                    "drift repaired: events republished",
                    producer=PRODUCER,
                    dossiers=len(to_ask),
                    missing=result.missing,
                    republished=result.republished,
                )
            if result.unknown:
                log.warning("events unknown to the producer", producer=PRODUCER, count=result.unknown)
    except Exception:
        DRIFT_CHECKS.labels(PRODUCER, "failed").inc()
        raise
    DRIFT_CHECKS.labels(PRODUCER, "ok").inc()
    return result


async def drift_loop(rt: Runtime, settings: ReportingSettings) -> None:
    """Check the last ``drift_check_days`` local days every ``drift_check_seconds`` and repair what is missing."""
    while True:
        await asyncio.sleep(settings.drift_check_seconds)
        try:
            first, last = days_back(rt.clock.now().astimezone(VN_TZ).date(), settings.drift_check_days)
            await check_and_repair(rt, settings, first, last)
        except Exception as exc:  # the next pass retries; one failure must not stop the job
            log.warning("drift check failed", error=repr(exc))


async def start_drift_loop(app: FastAPI, rt: Runtime) -> None:
    settings: ReportingSettings = app.state.settings
    if settings.drift_check_seconds > 0:
        rt.tasks.append(asyncio.create_task(drift_loop(rt, settings), name="reporting-drift"))
