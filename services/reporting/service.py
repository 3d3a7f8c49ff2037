"""Reporting use cases: the fold of every consumed batch, plan loading, and the reports.

They take a session, flush and append outbox events; the boundary (request dependency, consumer runner) commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.contract.envelope import Envelope
from libs.common.contract.events import PlanLoaded, PlanTargetData
from libs.common.contract.registry import UnknownEventType, registry
from libs.common.logging import get_logger
from libs.common.messaging.consumer import BatchHandler
from libs.common.messaging.outbox import Outbox
from services.reporting import repository
from services.reporting.domain import compliance as c
from services.reporting.domain.facts import DOSSIER_EVENT_NAMES, LedgerEvent, fold_dossier
from services.reporting.domain.indicators import (
    INDICATORS,
    Basis,
    GroupedData,
    evaluate,
    procedure_members,
)
from services.reporting.domain.periods import Window
from services.reporting.domain.plans import (
    LEVEL_VI,
    Plan,
    PlanError,
    parse_plan,
    plan_document,
)
from services.reporting.domain.pseudonym import scrub
from services.reporting.domain.results_form import COLUMNS, EXTRA_COLUMNS, form_rows, level_label, total_row
from services.reporting.domain.scope import Scope
from services.reporting.errors import AgencyUnknown, IndicatorUnknown, IntakeUnavailable, PlanInvalid, PlanNotFound

log = get_logger(__name__)

CONSUMER = "reporting"
PROCEDURE_EVENTS = frozenset(
    {"catalogue.procedure.published", "catalogue.procedure.amended", "catalogue.procedure.withdrawn"}
)
AGENCY_EVENT = "catalogue.agency.published"
TICKET_SERVED = "intake.queue.ticket_served"
PLAN_LOADED = "reporting.plan.loaded"


# ================================================================================================== the fold


def make_fold(pseudonym_key: str) -> BatchHandler:
    """The batch handler of reporting's consumer: ``async def fold(session, envelopes)``."""

    async def fold(session: AsyncSession, envelopes: list[Envelope]) -> None:
        await fold_batch(session, envelopes, pseudonym_key)

    return fold


async def fold_batch(session: AsyncSession, envelopes: Sequence[Envelope], pseudonym_key: str) -> None:
    """Apply one consumed batch (already deduplicated by the inbox) in the runner's transaction.

    Dossier events go to the ledger; every dossier they touch is refolded from its whole ledger, so the fact does
    not depend on the order events arrived in. Catalogue, agency, queue and plan events update their replicas,
    newest state winning.
    """
    await repository.lock_fold(session)
    ledger_rows: dict[str, dict[str, Any]] = {}
    procedures: dict[tuple[str, int], dict[str, Any]] = {}
    agencies: dict[str, dict[str, Any]] = {}
    visits: dict[str, dict[str, Any]] = {}
    plans: list[Envelope] = []
    for e in envelopes:
        name = e.name
        if name in DOSSIER_EVENT_NAMES:
            code = e.data.get("dossier_code")
            if code:  # a document digitised outside any dossier has no place in dossier facts
                ledger_rows[e.id] = {
                    "event_id": e.id,
                    "dossier_code": str(code),
                    "name": name,
                    "recorded_at": e.time,
                    "data": scrub(name, dict(e.data), pseudonym_key),
                }
        elif name in PROCEDURE_EVENTS:
            row = _procedure_row(e)
            key = (row["code"], row["version"])
            if key not in procedures or procedures[key]["as_of"] <= row["as_of"]:
                if key in procedures:
                    row["withdrawn_on"] = row["withdrawn_on"] or procedures[key]["withdrawn_on"]
                procedures[key] = row
        elif name == AGENCY_EVENT:
            row = _agency_row(e)
            if row["code"] not in agencies or agencies[row["code"]]["as_of"] <= row["as_of"]:
                agencies[row["code"]] = row
        elif name == TICKET_SERVED:
            row = _visit_row(e)
            visits[row["ticket_id"]] = row
        elif name == PLAN_LOADED:
            plans.append(e)
    # Write first (SQLite then holds the write lock for the whole batch), read the ledgers back after.
    await repository.add_events(session, list(ledger_rows.values()))
    codes = sorted({row["dossier_code"] for row in ledger_rows.values()})
    if codes:
        known = [LedgerEvent(r["event_id"], r["name"], r["recorded_at"], r["data"]) for r in ledger_rows.values()]
        ledgers = await repository.ledgers(session, codes, known)
        await repository.upsert_facts(session, [fold_dossier(code, ledgers[code]) for code in codes])
    await repository.upsert_latest(
        session,
        repository.procedure_t,
        list(procedures.values()),
        ("code", "version"),
        "as_of",
        keep=("withdrawn_on",),
    )
    await repository.upsert_latest(session, repository.agency_t, list(agencies.values()), ("code",), "as_of")
    await repository.upsert_visits(session, list(visits.values()))
    for e in sorted(plans, key=lambda p: p.time):
        await _apply_plan_loaded(session, e)


def _parse(e: Envelope) -> Any:
    try:
        return registry.parse(e)
    except UnknownEventType:
        raise


def _procedure_row(e: Envelope) -> dict[str, Any]:
    payload = _parse(e)
    p = payload.procedure
    return {
        "code": p.code,
        "version": p.version,
        "name": p.name,
        "sector_code": p.sector.code,
        "sector_name": p.sector.name,
        "levels": list(p.levels),
        "agency_codes": list(p.agency_codes),
        "online_level": p.online_level.value,
        "public": p.public,
        "has_fees": bool(p.fees),
        "fees_payable_online": any(f.payable_online for f in p.fees),
        "certification": p.certification,
        "components": len(p.components),
        "decision_number": p.decision.number,
        "decision_signed_on": p.decision.signed_on,
        "in_force_from": p.in_force_from,
        "in_force_until": p.in_force_until,
        "withdrawn_on": getattr(payload, "withdrawn_on", None),
        "as_of": e.time,
    }


def _agency_row(e: Envelope) -> dict[str, Any]:
    a = _parse(e)
    return {
        "code": a.code,
        "name": a.name,
        "level": a.level,
        "parent_code": a.parent_code,
        "area_kind": a.area_kind,
        "desk_officers": a.desk_officers,
        "procedure_codes": list(a.procedure_codes),
        "as_of": e.time,
    }


def _visit_row(e: Envelope) -> dict[str, Any]:
    t = _parse(e)
    return {
        "ticket_id": t.ticket_id,
        "agency_code": t.agency_code,
        "level": t.level,
        "desk": t.desk,
        "issued_at": t.issued_at,
        "served_at": t.served_at,
        "wait_seconds": t.wait_seconds,
    }


async def _apply_plan_loaded(session: AsyncSession, e: Envelope) -> None:
    payload = _parse(e)
    assert isinstance(payload, PlanLoaded)
    loaded_at = await repository.plan_loaded_at(session, payload.plan_id)
    if loaded_at is not None and loaded_at > payload.at:
        return  # an older load of the plan arriving late
    plan = parse_plan(
        {
            "plan_id": payload.plan_id,
            "name": payload.name,
            "legal_reference": payload.legal_reference,
            "years": payload.years,
            "targets": [t.model_dump() for t in payload.targets],
            **_plan_extras(payload.targets),
        }
    )
    await _store_plan(session, plan, payload.at)


def _plan_extras(targets: Sequence[PlanTargetData]) -> dict[str, Any]:
    return {}


async def _store_plan(session: AsyncSession, plan: Plan, loaded_at: datetime) -> None:
    doc = plan_document(plan)
    await repository.replace_plan(
        session,
        {
            "plan_id": plan.plan_id,
            "name": plan.name,
            "legal_reference": plan.legal_reference,
            "province": plan.province,
            "years": list(plan.years),
            "document": doc,
            "loaded_at": loaded_at,
        },
        [
            {
                "plan_id": plan.plan_id,
                "position": i,
                "indicator": t.indicator,
                "comparator": t.comparator.value,
                "value": t.value,
                "year": t.year,
                "scope": t.scope,
                "baseline": t.baseline,
                "note": t.note,
            }
            for i, t in enumerate(plan.targets)
        ],
    )


# ================================================================================================== plans


async def load_plan(session: AsyncSession, outbox: Outbox, raw: Any, *, now: datetime | None = None) -> Plan:
    """Validate and store a plan (replacing an earlier load of the same id) and publish ``PlanLoaded``."""
    try:
        plan = parse_plan(raw)
    except PlanError as exc:
        raise PlanInvalid("The plan breaks a rule", errors=[_field_error(loc, msg) for loc, msg in exc.errors]) from exc
    at = now or datetime.now(UTC)
    await _store_plan(session, plan, at)
    await outbox.append(
        session,
        PlanLoaded(
            plan_id=plan.plan_id,
            name=plan.name,
            legal_reference=plan.legal_reference,
            years=list(plan.years),
            targets=[
                PlanTargetData(
                    indicator=t.indicator,
                    comparator=t.comparator.value,
                    value=t.value,
                    year=t.year,
                    scope=t.contract_scope(),
                )
                for t in plan.targets
            ],
            at=at,
        ),
    )
    return plan


def _field_error(loc: tuple[str | int, ...], msg: str) -> dict[str, Any]:
    from libs.common.errors import field_error

    return field_error(loc, msg)


async def get_plan(session: AsyncSession, plan_id: str) -> Plan:
    row = await repository.plan(session, plan_id)
    if row is None:
        raise PlanNotFound(f"No plan {plan_id!r}; GET /plans lists the loaded plans")
    plan = parse_plan(row.document)
    return Plan(
        plan_id=plan.plan_id,
        name=plan.name,
        legal_reference=plan.legal_reference,
        years=plan.years,
        targets=plan.targets,
        province=row.province or plan.province,
        issued_on=plan.issued_on,
        source=plan.source,
    )


# ================================================================================================== reports


def window_dict(w: Window) -> dict[str, Any]:
    return {
        "label": w.label,
        "description": w.describe(),
        "system": w.system.value,
        "from": w.first_on.isoformat(),
        "to": w.last_on.isoformat(),
        "start": w.start.isoformat(),
        "end": w.end.isoformat(),
    }


class GroupCache:
    """Grouped counts per window, computed once per report and shared by every row and section."""

    def __init__(self, session: AsyncSession, where: Scope | None, by_agency: bool, procedures: bool) -> None:
        self.session = session
        self.where = where
        self.by_agency = by_agency
        self.procedures = procedures
        self.cache: dict[Window, GroupedData] = {}

    async def load(self, windows: Sequence[Window]) -> None:
        await repository.tune_for_reports(self.session)
        agencies = await repository.agency_infos(self.session)
        catalogue = await repository.procedure_versions(self.session)
        for w in windows:
            if w not in self.cache:
                self.cache[w] = await repository.grouped(
                    self.session,
                    w,
                    where=self.where,
                    by_agency=self.by_agency,
                    procedures=self.procedures,
                    agencies=agencies,
                    catalogue=catalogue,
                )

    def __call__(self, w: Window) -> GroupedData:
        return self.cache[w]


def request_scope(
    *, agency: str | None = None, level: str | None = None, sector: str | None = None, procedure: str | None = None
) -> Scope:
    return Scope(
        levels=frozenset({level}) if level else None,
        agencies=frozenset({agency}) if agency else None,
        sector_codes=frozenset({sector}) if sector else None,
        procedures=frozenset({procedure}) if procedure else None,
    )


async def indicator_results(
    session: AsyncSession, w: Window, scope: Scope, codes: Sequence[str] | None = None
) -> dict[str, Any]:
    codes = list(codes or INDICATORS)
    for code in codes:
        if code not in INDICATORS:
            raise IndicatorUnknown(f"Unknown indicator {code!r}; GET /indicators lists them")
    needs_procedures = any(INDICATORS[code].basis in (Basis.PROCEDURE, Basis.PAYMENT) for code in codes)
    cache = GroupCache(session, scope, by_agency=scope.agencies is not None, procedures=needs_procedures)
    await cache.load([w])
    g = cache(w)
    return {
        "window": window_dict(w),
        "scope": _scope_dict(scope),
        "attribution": ATTRIBUTION,
        "indicators": [
            {
                "name": INDICATORS[code].name,
                "definition": INDICATORS[code].definition,
                **evaluate(code, g, [scope]).as_dict(),
            }
            for code in codes
        ],
    }


ATTRIBUTION = (
    "Dossiers count for the agency and level that handle them (handling_agency_code of DossierReceived); staff "
    "productivity counts dossiers at the receiving desk."
)


def _scope_dict(scope: Scope) -> dict[str, Any]:
    return {
        "level": sorted(scope.levels)[0] if scope.levels else None,
        "agency": sorted(scope.agencies)[0] if scope.agencies else None,
        "sector": sorted(scope.sector_codes)[0] if scope.sector_codes else None,
        "procedure": sorted(scope.procedures)[0] if scope.procedures else None,
    }


async def drill_down(
    session: AsyncSession, code: str, part: str, w: Window, scope: Scope, limit: int, offset: int
) -> dict[str, Any]:
    """The dossiers behind an indicator's numerator or denominator (procedures, tickets for the few indicators
    that count those)."""
    d = INDICATORS.get(code)
    if d is None:
        raise IndicatorUnknown(f"Unknown indicator {code!r}; GET /indicators lists them")
    body: dict[str, Any] = {"indicator": code, "part": part, "window": window_dict(w), "scope": _scope_dict(scope)}
    if d.numerator_flag is not None and d.denominator_flag is not None:
        flag = d.numerator_flag if part == "numerator" else d.denominator_flag
        total, codes = await repository.drill_down(session, w, flag, scope, limit, offset)
        return {**body, "kind": "dossiers", "flag": flag, "total": total, "items": codes}
    items = await _drill_other(session, code, part, w, scope)
    return {**body, "kind": items[0], "total": len(items[1]), "items": items[1][offset : offset + limit]}


async def _drill_other(session: AsyncSession, code: str, part: str, w: Window, scope: Scope) -> tuple[str, list[str]]:
    basis = INDICATORS[code].basis
    if basis in (Basis.PROCEDURE, Basis.CATALOGUE):
        cache = GroupCache(session, scope, by_agency=scope.agencies is not None, procedures=True)
        await cache.load([w])
        numerator, denominator = procedure_members(code, cache(w), [scope])
        return "procedures", numerator if part == "numerator" else denominator
    if basis is Basis.PAYMENT:
        return "dossiers", await repository.payment_dossiers(session, w, scope, online_only=part == "numerator")
    if basis is Basis.VISIT:
        return "tickets", await repository.visit_tickets(session, w, scope)
    if part == "numerator":  # staff productivity: dossiers received at the desks in scope
        return "dossiers", await repository.desk_dossiers(session, w, scope)
    agencies = await repository.agency_infos(session)
    return "agencies", sorted(
        a.code
        for a in agencies.values()
        if a.desk_officers and scope.matches(level=a.level, agency=a.code, area_kind=a.area_kind, check_sector=False)
    )


async def compliance_report(
    session: AsyncSession,
    *,
    plan_id: str,
    year: int,
    period: Window,
    agency: str | None = None,
    level: str | None = None,
    by_agency: bool = False,
    province_name: str = "",
) -> dict[str, Any]:
    plan = await get_plan(session, plan_id)
    sections = await _sections(session, agency=agency, level=level, by_agency=by_agency)
    windows = c.Windows.around(period)
    targets = [t for _, t in plan.targets_for(year)]
    needs_agency = (
        agency is not None
        or by_agency
        or any(t.scope_filter.agencies is not None or t.scope_filter.area_kinds is not None for t in targets)
    )
    needs_procedures = any(INDICATORS[t.indicator].basis in (Basis.PROCEDURE, Basis.PAYMENT) for t in targets)
    where = request_scope(agency=agency, level=level) if (agency or level) else None
    cache = GroupCache(session, where, by_agency=needs_agency, procedures=needs_procedures)
    await cache.load(windows.all(with_baselines=any(t.baseline for t in targets)))
    out_sections = []
    for section in sections:
        rows = c.build_rows(plan, year, section, windows, cache)
        out_sections.append(
            {
                "key": section.key,
                "label": section.label,
                "level": section.level,
                "rows": [r.as_dict() for r in rows],
                "summary": c.summary(rows),
            }
        )
    return {
        "report": "plan_compliance",
        "province": province_name or plan.province,
        "plan": {
            "plan_id": plan.plan_id,
            "name": plan.name,
            "legal_reference": plan.legal_reference,
            "years": list(plan.years),
        },
        "year": year,
        "period": window_dict(windows.current),
        "previous_period": window_dict(windows.previous),
        "year_to_date": window_dict(windows.year_to_date),
        "attribution": ATTRIBUTION,
        "generated_at": datetime.now(UTC).isoformat(),
        "sections": out_sections,
    }


async def _sections(
    session: AsyncSession, *, agency: str | None, level: str | None, by_agency: bool
) -> list[c.Section]:
    agencies = await repository.agency_infos(session)
    if agency is not None:
        info = agencies.get(agency)
        agency_level = info.level if info else await _level_of(session, agency)
        if agency_level is None:
            raise AgencyUnknown(f"No agency {agency!r} in the catalogue replica or the dossiers")
        label = f"{info.name} ({agency})" if info and info.name else agency
        return [c.Section(f"agency:{agency}", label, Scope(agencies=frozenset({agency})), agency_level)]
    levels = [level] if level else await repository.levels_in_use(session)
    sections = [] if level else [c.Section("province", "Toàn tỉnh", Scope())]
    for lv in levels:
        sections.append(c.Section(f"level:{lv}", level_label(lv), Scope(levels=frozenset({lv})), lv))
    if by_agency:
        for a in sorted(agencies.values(), key=lambda a: (a.level or "", a.code)):
            if level is None or a.level == level:
                sections.append(
                    c.Section(f"agency:{a.code}", a.name or a.code, Scope(agencies=frozenset({a.code})), a.level)
                )
    return sections


async def _level_of(session: AsyncSession, agency: str) -> str | None:
    return await repository.level_of_agency(session, agency)


async def results_form(
    session: AsyncSession, *, period: Window, agency: str | None, level: str | None, province_name: str
) -> dict[str, Any]:
    where = request_scope(agency=agency, level=level) if (agency or level) else None
    cache = GroupCache(session, where, by_agency=True, procedures=False)
    await cache.load([period])
    g = cache(period)
    scopes = [where] if where is not None else []
    out: dict[str, Any] = {
        "report": "results_form",
        "form": "Biểu 06/VPCP/KSTT (Thông tư 01/2020/TT-VPCP)",
        "title": "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
        "province": province_name,
        "period": window_dict(period),
        "unit": "hồ sơ",
        "attribution": ATTRIBUTION,
        "columns": [{"key": k, "heading": h, "number": i + 3} for i, (k, h) in enumerate(COLUMNS)]
        + [{"key": k, "heading": h, "number": None} for k, h in EXTRA_COLUMNS],
        "generated_at": datetime.now(UTC).isoformat(),
    }
    for by in ("sector", "agency"):
        rows = form_rows(g, scopes, by=by)
        blocks = []
        for lv in dict.fromkeys(r.level for r in rows):
            level_rows = [r for r in rows if r.level == lv]
            blocks.append(
                {
                    "level": lv,
                    "label": level_label(lv),
                    "rows": [r.as_dict() for r in level_rows],
                    "total": total_row(level_rows, f"Cộng {level_label(lv).lower()}", lv).as_dict(),
                }
            )
        out[f"by_{by}"] = {"levels": blocks, "total": total_row(rows).as_dict()}
    return out


# ================================================================================================== Decision 766


async def index_766(
    session: AsyncSession, *, period: Window, agency: str | None, by_agency: bool, province_name: str
) -> dict[str, Any]:
    """The Decision 766 index for the province (or one agency) and, on request, for each agency."""
    from services.reporting.domain import index766

    where = request_scope(agency=agency) if agency else None
    cache = GroupCache(session, where, by_agency=True, procedures=True)
    await cache.load([period])
    g = cache(period)
    sections: list[dict[str, Any]] = []
    if agency is None:
        sections.append({"key": "province", "label": "Toàn tỉnh", **index766.index(g, [])})
    agencies = g.agencies
    codes = [agency] if agency else (sorted(agencies) if by_agency else [])
    for code in codes:
        info = agencies.get(code)
        label = f"{info.name} ({code})" if info and info.name else code
        sections.append(
            {"key": f"agency:{code}", "label": label, **index766.index(g, [Scope(agencies=frozenset({code}))])}
        )
    return {
        "report": "decision_766_index",
        "legal_reference": "Quyết định số 766/QĐ-TTg ngày 23/6/2022 của Thủ tướng Chính phủ",
        "province": province_name,
        "period": window_dict(period),
        "attribution": ATTRIBUTION,
        "scoring": "with a threshold T: full points if rate ≥ T, else rate × points / T; otherwise rate × points; "
        "no denominator → no data; criteria the events cannot supply are listed as not available and the total is "
        "given over the points assessed as well",
        "generated_at": datetime.now(UTC).isoformat(),
        "sections": sections,
    }


# ================================================================================================== parity


async def parity(
    session: AsyncSession,
    windows: Sequence[Window],
    *,
    intake_url: str,
    api_key: str,
    timeout: float,
    transport: Any = None,
) -> dict[str, Any]:
    """Compare dossiers received and finished per receiving agency with intake's own counts
    (``GET {intake}/stats/dossiers?from=&to=``, local days inclusive) for each window; list any drift."""
    import httpx

    out_windows = []
    in_sync = True
    async with httpx.AsyncClient(
        base_url=intake_url, timeout=timeout, headers={"Authorization": f"Bearer {api_key}"}, transport=transport
    ) as client:
        for w in windows:
            try:
                response = await client.get(
                    "/stats/dossiers", params={"from": w.first_on.isoformat(), "to": w.last_on.isoformat()}
                )
            except httpx.HTTPError as exc:
                raise IntakeUnavailable(f"Intake at {intake_url} did not answer: {exc!r}") from exc
            if response.status_code != 200:
                raise IntakeUnavailable(
                    f"Intake answered {response.status_code} to GET /stats/dossiers: {response.text[:300]}"
                )
            theirs = {
                str(a["agency_code"]): {"received": int(a.get("received", 0)), "finished": int(a.get("finished", 0))}
                for a in response.json().get("agencies", [])
            }
            ours = await repository.counts_per_receiving_agency(session, w.start, w.end)
            rows: list[dict[str, Any]] = []
            for code in sorted(set(theirs) | set(ours)):
                mine = ours.get(code, {"received": 0, "finished": 0})
                other = theirs.get(code, {"received": 0, "finished": 0})
                drift = {k: mine[k] - other[k] for k in ("received", "finished")}
                if any(drift.values()):
                    in_sync = False
                rows.append({"agency_code": code, "reporting": mine, "intake": other, "drift": drift})
            out_windows.append(
                {
                    "window": window_dict(w),
                    "agencies": rows,
                    "in_sync": not any(any(r["drift"].values()) for r in rows),
                }
            )
    return {"intake_url": intake_url, "in_sync": in_sync, "windows": out_windows}


def level_name(level: str | None) -> str:
    return LEVEL_VI.get(level or "", level or "")
