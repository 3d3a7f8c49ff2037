"""Catalogue use cases. They flush and append outbox events; the request boundary commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.audit import AuditAction, record_change
from libs.common.auth import Principal
from libs.common.calendar import VN_TZ, CalendarSettings, WorkingCalendar
from libs.common.clock import Clock
from libs.common.contract import (
    AgencyPublished,
    DecisionRef,
    DocumentComponent,
    ProcedureAmended,
    ProcedurePublished,
    ProcedureSnapshot,
    ProcedureWithdrawn,
    ProcessStep,
    ResultDocument,
    TimeLimitData,
)
from libs.common.errors import DomainError, field_error
from libs.common.messaging.outbox import Outbox
from services.catalogue import repository
from services.catalogue import schemas as s
from services.catalogue.domain import hours, indicators, rules, transparency
from services.catalogue.domain.text import fold
from services.catalogue.domain.versions import (
    Availability,
    VersionSpan,
    check_effective_after,
    last_day_before,
    version_at,
)
from services.catalogue.errors import (
    AgencyInvalid,
    ProcedureAlreadyWithdrawn,
    ProcedureExists,
    ProcedureGone,
    ProcedureInvalid,
    ProcedureNotFound,
    ProcedureNotInForce,
)
from services.catalogue.models import Agency, Procedure, ProcedureVersion


@dataclass(frozen=True)
class Context:
    session: AsyncSession
    outbox: Outbox
    now: datetime
    principal: Principal | None = None  # None: the service itself (the demo loader)

    @classmethod
    def of(cls, session: AsyncSession, outbox: Outbox, clock: Clock, principal: Principal | None = None) -> Context:
        return cls(session, outbox, clock.now(), principal)

    async def audit(self, action: AuditAction, kind: str, subject_id: str) -> None:
        """One audit row for a change of the catalogue, in the request's transaction (docs/security.md, "Audit").
        The catalogue holds no citizen's personal data: its rows are never flagged as such."""
        await record_change(
            self.session, self.principal, at=self.now, action=action, subject_kind=kind, subject_id=subject_id
        )


def today(clock: Clock) -> date:
    """Legal dates are local (Asia/Ho_Chi_Minh)."""
    return clock.now().astimezone(VN_TZ).date()


# ---------------------------------------------------------------- rules


def _raise_issues(issues: Sequence[rules.Issue]) -> None:
    if issues:
        raise ProcedureInvalid(
            "; ".join(f"{'.'.join(str(p) for p in i.loc)}: {i.msg}" for i in issues),
            errors=[field_error(i.loc, i.msg) for i in issues],
        )


def check_content(content: s.ProcedureContent) -> None:
    """The catalogue's rules on a version's content; 422 ``procedure_invalid`` naming each offending field."""
    limit = TimeLimitData(amount=content.time_limit.amount, unit=content.time_limit.unit)
    _raise_issues(
        [
            *rules.check_time_limit(limit),
            *rules.check_process([ProcessStep(**step.model_dump()) for step in content.process], limit),
            *rules.check_inter_agency(content.inter_agency, content.participating_agencies),
            *rules.check_documents(
                [DocumentComponent(**c.model_dump()) for c in content.components],
                [ResultDocument(**r.model_dump()) for r in content.results],
            ),
        ]
    )


@cache
def province_calendar() -> WorkingCalendar:
    """The province's calendar, for the publication deadlines (built on first use, not at import)."""
    return WorkingCalendar.from_settings(CalendarSettings())


def _snapshot(code: str, number: int, content: s.ProcedureContent, decision: s.DecisionIn) -> ProcedureSnapshot:
    due = transparency.deadlines(province_calendar(), decision.signed_on, decision.effective_on)
    missing = transparency.missing_components(
        name=content.name, steps=content.process, components=content.components, results=content.results
    )
    return ProcedureSnapshot.model_validate(
        {
            "code": code,
            "version": number,
            **s.snapshot_parts(content),
            "decision": DecisionRef(**decision.model_dump()),
            "in_force_from": decision.effective_on,
            "in_force_until": None,
            "publication_due_on": due.publication_due_on,
            "national_db_due_on": due.national_db_due_on,
            "components_complete": not missing,
            "missing_components": missing,
        }
    )


def _version_row(snapshot: ProcedureSnapshot, now: datetime) -> ProcedureVersion:
    return ProcedureVersion(
        code=snapshot.code,
        version=snapshot.version,
        name=snapshot.name,
        name_search=fold(snapshot.name),
        sector_code=snapshot.sector.code,
        sector_name=snapshot.sector.name,
        sector_search=fold(snapshot.sector.name),
        levels_key="|" + "|".join(snapshot.levels) + "|",
        agencies_key="|" + "|".join(snapshot.agency_codes) + "|",
        online_level=snapshot.online_level.value,
        time_limit_amount=snapshot.time_limit.amount,
        time_limit_unit=snapshot.time_limit.unit.value,
        has_fees=bool(snapshot.fees),
        fees_payable_online=any(f.payable_online for f in snapshot.fees),
        postal_allowed=snapshot.postal_allowed,
        cross_boundary_allowed=snapshot.cross_boundary_allowed,
        inter_agency=snapshot.inter_agency,
        certification=snapshot.certification,
        public=snapshot.public,
        decision_number=snapshot.decision.number,
        decision_signed_on=snapshot.decision.signed_on,
        in_force_from=snapshot.in_force_from,
        in_force_until=snapshot.in_force_until,
        public_in_national_db_on=snapshot.public_in_national_db_on,
        snapshot=snapshot.model_dump(mode="json"),
        recorded_at=now,
    )


def _close(row: ProcedureVersion, last_day: date) -> ProcedureSnapshot:
    """End a version on ``last_day`` (inclusive) and keep its snapshot in step."""
    row.in_force_until = last_day
    snapshot = ProcedureSnapshot.model_validate(row.snapshot).model_copy(update={"in_force_until": last_day})
    row.snapshot = snapshot.model_dump(mode="json")
    return snapshot


def _span(row: ProcedureVersion) -> VersionSpan:
    return VersionSpan(row.version, row.in_force_from, row.in_force_until)


# ---------------------------------------------------------------- publish, amend, withdraw


async def publish(ctx: Context, data: s.ProcedureCreate) -> ProcedureVersion:
    """Version 1 of a new procedure, in force from its decision's effective date. Publishes ``ProcedurePublished``."""
    check_content(data)
    if await repository.get_procedure(ctx.session, data.code) is not None:
        raise ProcedureExists(
            f"Procedure {data.code} is already in the catalogue: amend it instead",
            errors=[field_error(("code",), "already in the catalogue")],
        )
    snapshot = _snapshot(data.code, 1, data, data.decision)
    ctx.session.add(Procedure(code=data.code, latest_version=1, created_at=ctx.now, updated_at=ctx.now))
    row = _version_row(snapshot, ctx.now)
    ctx.session.add(row)
    await ctx.session.flush()
    await ctx.outbox.append(ctx.session, ProcedurePublished(code=data.code, procedure=snapshot))
    await ctx.audit(AuditAction.CREATE, "procedure", f"{data.code}@1")
    return row


async def _latest_for_change(ctx: Context, code: str) -> tuple[Procedure, ProcedureVersion]:
    procedure = await repository.get_procedure(ctx.session, code, lock=True)
    if procedure is None:
        raise ProcedureNotFound(f"Procedure {code} is not in the catalogue")
    if procedure.withdrawn_on is not None:
        raise ProcedureAlreadyWithdrawn(
            f"Procedure {code} was withdrawn from {procedure.withdrawn_on:%d/%m/%Y}; publish a new procedure instead"
        )
    latest = await repository.version(ctx.session, code, procedure.latest_version)
    assert latest is not None
    return procedure, latest


async def amend(ctx: Context, code: str, data: s.ProcedureAmendment) -> ProcedureVersion:
    """A new version in force from the amending decision's effective date; the previous version ends the day
    before. Publishes ``ProcedureAmended`` with the whole new version."""
    check_content(data)
    procedure, latest = await _latest_for_change(ctx, code)
    _raise_issues(check_effective_after(_span(latest), data.decision.effective_on, "amendment"))
    _close(latest, last_day_before(data.decision.effective_on))
    snapshot = _snapshot(code, latest.version + 1, data, data.decision)
    row = _version_row(snapshot, ctx.now)
    ctx.session.add(row)
    procedure.latest_version = snapshot.version
    procedure.updated_at = ctx.now
    await ctx.session.flush()
    await ctx.outbox.append(ctx.session, ProcedureAmended(code=code, procedure=snapshot))
    await ctx.audit(AuditAction.CHANGE, "procedure", f"{code}@{snapshot.version}")
    return row


async def withdraw(ctx: Context, code: str, data: s.WithdrawalIn) -> s.WithdrawalRead:
    """Withdraw the procedure from the decision's effective date W: its last version ends on W − 1. Publishes
    ``ProcedureWithdrawn`` with that version's snapshot (``in_force_until`` = W − 1) and ``withdrawn_on`` = W."""
    procedure, latest = await _latest_for_change(ctx, code)
    effective_on = data.decision.effective_on
    _raise_issues(check_effective_after(_span(latest), effective_on, "withdrawal"))
    snapshot = _close(latest, last_day_before(effective_on))
    decision = DecisionRef(**data.decision.model_dump())
    procedure.withdrawn_on = effective_on
    procedure.withdrawal = decision.model_dump(mode="json")
    procedure.updated_at = ctx.now
    await ctx.session.flush()
    await ctx.outbox.append(ctx.session, ProcedureWithdrawn(code=code, procedure=snapshot, withdrawn_on=effective_on))
    await ctx.audit(AuditAction.CHANGE, "procedure", f"{code}@{latest.version}")
    return s.WithdrawalRead(code=code, version=latest.version, withdrawn_on=effective_on, decision=decision)


def same_content(row: ProcedureVersion, content: s.ProcedureContent) -> bool:
    """Whether ``content`` says exactly what the version says (an import row that changes nothing)."""
    current = ProcedureSnapshot.model_validate(row.snapshot).model_dump(mode="json")
    candidate = ProcedureSnapshot.model_validate({**row.snapshot, **s.snapshot_parts(content)}).model_dump(mode="json")
    return current == candidate


# ---------------------------------------------------------------- reads


def read(procedure: Procedure, row: ProcedureVersion) -> s.ProcedureRead:
    return s.ProcedureRead.model_validate(
        {
            **row.snapshot,
            "latest_version": procedure.latest_version,
            "withdrawn_on": procedure.withdrawn_on,
            "withdrawal": procedure.withdrawal,
        }
    )


async def procedure_at(session: AsyncSession, code: str, on: date) -> s.ProcedureRead:
    """The version in force on ``on``: 404 if none had started yet, 410 Gone once withdrawn."""
    procedure = await repository.get_procedure(session, code)
    if procedure is None:
        raise ProcedureNotFound(f"Procedure {code} is not in the catalogue")
    rows = {row.version: row for row in await repository.versions(session, code)}
    span, availability = version_at([_span(r) for r in rows.values()], on)
    if availability is Availability.NOT_YET or span is None:
        first = min(r.in_force_from for r in rows.values())
        raise ProcedureNotInForce(
            f"Procedure {code} was not yet in force on {on:%d/%m/%Y}; it takes effect on {first:%d/%m/%Y}",
            in_force_from=first.isoformat(),
        )
    if availability is Availability.WITHDRAWN:
        assert procedure.withdrawn_on is not None
        raise ProcedureGone(
            f"Procedure {code} was withdrawn from {procedure.withdrawn_on:%d/%m/%Y}"
            f" (decision {(procedure.withdrawal or {}).get('number')}); it was in force until"
            f" {span.in_force_until:%d/%m/%Y}",
            withdrawn_on=procedure.withdrawn_on.isoformat(),
            last_version=span.version,
        )
    return read(procedure, rows[span.version])


async def procedure_versions(session: AsyncSession, code: str) -> list[s.VersionRead]:
    rows = await repository.versions(session, code)
    if not rows:
        raise ProcedureNotFound(f"Procedure {code} is not in the catalogue")
    return [
        s.VersionRead(
            version=r.version,
            decision=ProcedureSnapshot.model_validate(r.snapshot).decision,
            in_force_from=r.in_force_from,
            in_force_until=r.in_force_until,
            recorded_at=r.recorded_at,
        )
        for r in rows
    ]


def summary(row: ProcedureVersion) -> s.ProcedureSummary:
    snapshot = ProcedureSnapshot.model_validate(row.snapshot)
    return s.ProcedureSummary(
        **snapshot.model_dump(
            include={
                "code", "version", "name", "sector", "levels", "time_limit", "online_level", "postal_allowed",
                "cross_boundary_allowed", "inter_agency", "certification", "public", "in_force_from", "in_force_until",
            }
        ),
        has_fees=row.has_fees,
        fees_payable_online=row.fees_payable_online,
    )  # fmt: skip


def _entry(row: ProcedureVersion) -> indicators.CatalogueEntry:
    snapshot = ProcedureSnapshot.model_validate(row.snapshot)
    return indicators.CatalogueEntry(
        row.code,
        row.version,
        row.online_level,
        row.public,
        row.in_force_from,
        row.in_force_until,
        signed_on=snapshot.decision.signed_on,
        publication_due_on=snapshot.publication_due_on,
        public_in_national_db_on=snapshot.public_in_national_db_on,
        national_db_due_on=snapshot.national_db_due_on,
        components_complete=snapshot.components_complete,
    )


async def catalogue_indicators(session: AsyncSession, on: date) -> s.IndicatorsRead:
    entries = [_entry(r) for r in await repository.all_versions(session)]
    rates = [
        indicators.online_service_coverage(entries, on),
        indicators.published_rate(entries, on),
        indicators.published_on_time_rate(entries, on),
        indicators.national_db_on_time_rate(entries, on),
        indicators.components_complete_rate(entries, on),
    ]
    return s.IndicatorsRead(
        on=on,
        indicators=[
            s.IndicatorRead(
                indicator=r.indicator,
                numerator=r.numerator,
                denominator=r.denominator,
                value=r.value,
                no_data=r.value is None,
            )
            for r in rates
        ],
    )


# ---------------------------------------------------------------- agencies


async def put_agency(ctx: Context, code: str, data: s.AgencyIn) -> Agency:
    """Create or replace an agency; the parent and every listed procedure must be in the catalogue.
    Publishes ``AgencyPublished``."""
    errors: list[dict[str, Any]] = []
    if data.parent_code is not None:
        if data.parent_code == code:
            errors.append(field_error(("parent_code",), "an agency is not its own parent"))
        elif await repository.get_agency(ctx.session, data.parent_code) is None:
            errors.append(field_error(("parent_code",), f"no agency {data.parent_code} in the catalogue"))
    known = await repository.existing_procedure_codes(ctx.session, set(data.procedure_codes))
    for index, procedure_code in enumerate(data.procedure_codes):
        if procedure_code not in known:
            errors.append(field_error(("procedure_codes", index), f"no procedure {procedure_code} in the catalogue"))
    for day in hours.clashing_days(data.extra_holidays, data.extra_working_days):
        errors.append(field_error(("extra_working_days",), f"{day.isoformat()} is also an extra holiday"))
    if errors:
        raise AgencyInvalid(
            "The agency cannot be saved: " + "; ".join(f"{e['field']}: {e['msg']}" for e in errors), errors=errors
        )
    agency = await repository.get_agency(ctx.session, code)
    await ctx.audit(AuditAction.CREATE if agency is None else AuditAction.CHANGE, "agency", code)
    if agency is None:
        agency = Agency(code=code)
        ctx.session.add(agency)
    procedure_codes = list(dict.fromkeys(data.procedure_codes))
    agency.name = data.name
    agency.name_search = fold(data.name)
    agency.level = data.level.value
    agency.parent_code = data.parent_code
    agency.area_kind = data.area_kind
    agency.desks = list(data.desks)
    agency.desk_officers = data.desk_officers
    agency.procedure_codes = procedure_codes
    agency.opening_sessions = data.opening_sessions
    agency.extra_holidays = sorted({day.isoformat() for day in data.extra_holidays})
    agency.extra_working_days = sorted({day.isoformat() for day in data.extra_working_days})
    agency.updated_at = ctx.now
    await repository.replace_agency_procedures(ctx.session, code, procedure_codes)
    await ctx.session.flush()
    await ctx.outbox.append(ctx.session, agency_event(agency))
    return agency


def agency_event(agency: Agency) -> AgencyPublished:
    return AgencyPublished(
        code=agency.code,
        name=agency.name,
        level=agency.level,
        parent_code=agency.parent_code,
        area_kind=agency.area_kind,
        desks=list(agency.desks),
        desk_officers=agency.desk_officers,
        procedure_codes=list(agency.procedure_codes),
        opening_sessions=agency.opening_sessions,
        extra_holidays=[date.fromisoformat(day) for day in agency.extra_holidays or []],
        extra_working_days=[date.fromisoformat(day) for day in agency.extra_working_days or []],
    )


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportRow:
    """One row of a catalogue file, already mapped to our layout (or the reason it could not be)."""

    row: int
    code: str | None
    data: dict[str, Any] | None
    errors: tuple[str, ...] = ()


def _messages(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return [f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()]
    if isinstance(exc, DomainError):
        if exc.errors:
            return [f"{e['field']}: {e['msg']}" if e.get("field") else str(e["msg"]) for e in exc.errors]
        return [exc.detail]
    raise exc


async def upsert_procedure(ctx: Context, data: s.ProcedureCreate) -> str:
    """Publish a new procedure, amend a known one, or leave it alone if the row changes nothing."""
    procedure = await repository.get_procedure(ctx.session, data.code)
    if procedure is None:
        await publish(ctx, data)
        return "published"
    latest = await repository.version(ctx.session, data.code, procedure.latest_version)
    assert latest is not None
    if procedure.withdrawn_on is None and same_content(latest, data):
        return "unchanged"
    amendment = s.ProcedureAmendment.model_validate(data.model_dump(exclude={"code"}))
    await amend(ctx, data.code, amendment)
    return "amended"


async def import_procedures(ctx: Context, rows: Sequence[ImportRow]) -> s.ImportReport:
    """Each row in its own SAVEPOINT: a bad row is reported with its reasons and the good ones stay."""
    report = s.ImportReport(accepted=0, rejected=[], published=[], amended=[], unchanged=[])
    first_row: dict[str, int] = {}
    for item in rows:
        errors = list(item.errors)
        if item.code is not None:
            if item.code in first_row:
                errors = [f"code: {item.code} already appears at row {first_row[item.code]} of this file"]
            else:
                first_row[item.code] = item.row
        if not errors:
            try:
                data = s.ProcedureCreate.model_validate(item.data)
                async with ctx.session.begin_nested():
                    outcome = await upsert_procedure(ctx, data)
            except (ValidationError, DomainError) as exc:
                errors = _messages(exc)
        if errors:
            report.rejected.append(s.RejectedRow(row=item.row, code=item.code, errors=errors))
            continue
        assert item.code is not None
        report.accepted += 1
        getattr(report, outcome).append(item.code)
    return report
