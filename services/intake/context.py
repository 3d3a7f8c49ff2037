"""The context every intake use case runs in, given to a route as one dependency: ``ctx: Ctx``.

It carries the request's session (the boundary commits it), the runtime (outbox, settings), the caller, the request's
correlation id, the book of working-day calendars and "now", read once per request so that every rule of one request
judges the same instant. A dossier's legal clock runs on its receiving agency's calendar (docs/domain.md §Working
hours), resolved once per agency and request by ``agency_calendar``. Who may call a route is said in its decorator
(``dependencies=[allow(Role.HANDLER)]``), so the caller is authenticated and authorised before the session opens or
the body is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request, params
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.app import DBSession, Runtime, runtime
from libs.common.auth import CurrentPrincipal, Principal, Role, require
from libs.common.calendar import AgencyHours, CalendarBook, WorkingCalendar
from libs.common.contract import OfficerRef
from libs.common.errors import field_error
from libs.common.logging import correlation_id
from libs.common.messaging.outbox import Outbox
from services.intake.catalogue_replica.service import ReplicaCache, agency_hours
from services.intake.errors import CommandRejected
from services.intake.integrations.outbound import Outbound
from services.intake.models import AgencyReplica


def clock(rt: Runtime) -> datetime:
    """Now: the one place intake reads the time (the runtime's clock), once per request and once per pass of the
    overdue job."""
    return rt.clock.now()


def calendars_of(rt: Runtime) -> CalendarBook:
    """The province calendar and the agencies' calendars, built in the lifespan and shared by every request."""
    calendars = rt.extras["calendars"]
    assert isinstance(calendars, CalendarBook)
    return calendars


@dataclass(frozen=True)
class IntakeContext:
    session: AsyncSession
    runtime: Runtime
    principal: Principal
    correlation_id: str | None
    calendars: CalendarBook
    now: datetime
    # While an import replays history: the steps were taken by whoever the history names (imported_officer), or by
    # someone unknown — never by the importer.
    importing: bool = False
    imported_officer: OfficerRef | None = None
    # the calendars this request resolved, by agency code: a command (or an import of many rows) reads an agency's
    # hours once however many rules it applies
    _resolved: dict[str, WorkingCalendar] = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def outbox(self) -> Outbox:
        return self.runtime.outbox

    @property
    def outbound(self) -> Outbound | None:
        """The outbound deliveries to enqueue with the change (None: every integration is off)."""
        outbound: Outbound | None = self.runtime.extras.get("outbound")
        return outbound

    @property
    def province_calendar(self) -> WorkingCalendar:
        """The province's calendar: for what belongs to no one agency (a list across agencies)."""
        return self.calendars.province

    async def agency_calendar(self, agency_code: str) -> WorkingCalendar:
        """The calendar of ``agency_code``: its own sessions and days over the province's, or the province's when
        it has none (or is not replicated yet)."""
        calendar = self._resolved.get(agency_code)
        if calendar is None:
            calendar = self.calendar_of(agency_code, agency_hours(await self.session.get(AgencyReplica, agency_code)))
        return calendar

    def calendar_of(self, agency_code: str, hours: AgencyHours | None) -> WorkingCalendar:
        """The same, when the caller has read the agency's hours already (the receipt, from the replica cache)."""
        calendar = self._resolved[agency_code] = self.calendars.for_agency(hours)
        return calendar

    @property
    def replica_cache(self) -> ReplicaCache | None:
        """The process's cache of the catalogue replica for receipts (None: read it every time)."""
        cache: ReplicaCache | None = self.runtime.extras.get("replica_cache")
        return cache

    @property
    def actor(self) -> str:
        """Who acts, as recorded on the control sheet and the steps (an imported step: the officer it names)."""
        return self.imported_officer.id if self.imported_officer else self.principal.subject

    @property
    def actor_name(self) -> str:
        """The acting officer's name as the forms print it: the principal's display name, else its subject."""
        return self.imported_officer.display_name if self.imported_officer else self.principal.name

    @property
    def officer(self) -> OfficerRef | None:
        """The officer taking the step, for the event (docs/intake.md, "Acting officer"): None when the caller is an
        integration (the portal acts for the applicant; no officer does); for imported history, the officer the
        history names, if any."""
        if self.importing:
            return self.imported_officer
        p = self.principal
        if not p.roles & frozenset(STAFF):
            return None
        return OfficerRef(id=p.subject, display_name=p.name, title=p.title or None)

    def step_time(self, at: datetime | None, previous: datetime | None = None) -> datetime:
        """A command's time: now by default, never in the future, never before the previous step (422 naming
        ``at``). A step done on paper and recorded later carries its own time."""
        if at is None:
            at = self.now
        at = at.astimezone(UTC)
        if at > self.now:
            raise CommandRejected(
                "A step cannot be recorded in the future", errors=[field_error(("at",), "in the future")]
            )
        if previous is not None and at < previous:
            raise CommandRejected(
                f"The dossier's previous step was at {previous.isoformat()}; a later step cannot be dated before it",
                errors=[field_error(("at",), "before the dossier's previous step")],
            )
        return at


async def intake_context(request: Request, session: DBSession, principal: CurrentPrincipal) -> IntakeContext:
    # the runtime read here rather than as one more dependency: FastAPI resolves every dependency of every request
    # anew (its cache key, scopes and security checks), a cost the receipt route pays per dependency
    rt = runtime(request)
    return IntakeContext(
        session=session,
        runtime=rt,
        principal=principal,
        correlation_id=correlation_id.get(),
        calendars=calendars_of(rt),
        now=clock(rt),
    )


Ctx = Annotated[IntakeContext, Depends(intake_context)]


def allow(*roles: Role) -> params.Depends:
    """For a route's ``dependencies``: the caller must hold one of ``roles`` (401 without a key, 403 without it)."""
    dependency: params.Depends = Depends(require(*roles))
    return dependency


STAFF = (Role.DESK_OFFICER, Role.HANDLER, Role.LEADER, Role.OPS)
