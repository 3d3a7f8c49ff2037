"""The context every intake use case runs in, given to a route as one dependency: ``ctx: Ctx``.

It carries the request's session (the boundary commits it), the runtime (outbox, settings), the caller, the request's
correlation id, the working-day calendar and "now", read once per request so that every rule of one request judges
the same instant. Who may call a route is said in its decorator (``dependencies=[allow(Role.HANDLER)]``), so the
caller is authenticated and authorised before the session opens or the body is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, params
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.app import DBSession, Runtime, RuntimeDep
from libs.common.auth import CurrentPrincipal, Principal, Role, require
from libs.common.calendar import WorkingCalendar
from libs.common.errors import field_error
from libs.common.logging import correlation_id
from libs.common.messaging.outbox import Outbox
from services.intake.catalogue_replica.service import ReplicaCache
from services.intake.errors import CommandRejected
from services.intake.integrations.outbound import Outbound


def clock(rt: Runtime) -> datetime:
    """Now: the one place intake reads the time (the runtime's clock), once per request and once per pass of the
    overdue job."""
    return rt.clock.now()


def calendar_of(rt: Runtime) -> WorkingCalendar:
    calendar = rt.extras["calendar"]
    assert isinstance(calendar, WorkingCalendar)
    return calendar


@dataclass(frozen=True)
class IntakeContext:
    session: AsyncSession
    runtime: Runtime
    principal: Principal
    correlation_id: str | None
    calendar: WorkingCalendar
    now: datetime

    @property
    def outbox(self) -> Outbox:
        return self.runtime.outbox

    @property
    def outbound(self) -> Outbound | None:
        """The outbound deliveries to enqueue with the change (None: every integration is off)."""
        outbound: Outbound | None = self.runtime.extras.get("outbound")
        return outbound

    @property
    def replica_cache(self) -> ReplicaCache | None:
        """The process's cache of the catalogue replica for receipts (None: read it every time)."""
        cache: ReplicaCache | None = self.runtime.extras.get("replica_cache")
        return cache

    @property
    def actor(self) -> str:
        """Who acts, as recorded on the control sheet and the steps."""
        return self.principal.subject

    @property
    def actor_name(self) -> str:
        """The acting officer's name as the forms print it: the principal's display name, else its subject."""
        return self.principal.name

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


async def intake_context(session: DBSession, rt: RuntimeDep, principal: CurrentPrincipal) -> IntakeContext:
    return IntakeContext(
        session=session,
        runtime=rt,
        principal=principal,
        correlation_id=correlation_id.get(),
        calendar=calendar_of(rt),
        now=clock(rt),
    )


Ctx = Annotated[IntakeContext, Depends(intake_context)]


def allow(*roles: Role) -> params.Depends:
    """For a route's ``dependencies``: the caller must hold one of ``roles`` (401 without a key, 403 without it)."""
    dependency: params.Depends = Depends(require(*roles))
    return dependency


STAFF = (Role.DESK_OFFICER, Role.HANDLER, Role.LEADER, Role.OPS)
