"""Handlers of the events intake consumes, registered by contract class: the catalogue's procedures and agencies
(consumer ``intake``), and what digitisation and payments say about a dossier's documents and fees (consumer
``intake-owners``, for the national portal's record and the fee-due notice: docs/integrations.md)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.clock import SYSTEM_CLOCK, Clock
from libs.common.contract import (
    AgencyPublished,
    DocumentDigitised,
    DocumentReused,
    FeeAssessed,
    PaymentRefunded,
    PaymentSucceeded,
    ProcedureAmended,
    ProcedurePublished,
    ProcedureWithdrawn,
)
from libs.common.contract.envelope import Envelope
from libs.common.messaging.consumer import EventHandlers
from services.intake.catalogue_replica import service as replica
from services.intake.integrations import outbound
from services.intake.integrations import owner_facts as rules
from services.intake.integrations.outbound import Outbound

handlers = EventHandlers()


@handlers.on(ProcedurePublished)
@handlers.on(ProcedureAmended)
@handlers.on(ProcedureWithdrawn)
async def handle_procedure_version(
    session: AsyncSession, event: ProcedurePublished | ProcedureAmended | ProcedureWithdrawn, _envelope: Envelope
) -> None:
    await replica.store_procedure(session, event)


@handlers.on(AgencyPublished)
async def handle_agency(session: AsyncSession, event: AgencyPublished, envelope: Envelope) -> None:
    await replica.store_agency(session, event, published_at=envelope.time)


OWNERS_CONSUMER = "intake-owners"


@dataclass
class OwnerEventsContext:
    """What the owners' handlers need from the running app: its outbound deliveries and its clock. Bound in the
    lifespan's start; a handler waits for it rather than fold an event without them (the consumer may start first).
    """

    outbound: Outbound | None = None
    clock: Clock = SYSTEM_CLOCK
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def bind(self, out: Outbound | None, clock: Clock) -> None:
        self.outbound = out
        self.clock = clock
        self.ready.set()


def owner_event_handlers(ctx: OwnerEventsContext) -> EventHandlers:
    """Only the dossier code, the component or document type code and the fee and payment fields are read: the
    documents' ids (digitisation's holder references) are none of the portal's business."""
    owners = EventHandlers()

    async def fold(session: AsyncSession, code: str, change: rules.Change, envelope: Envelope) -> rules.OwnerFacts:
        await ctx.ready.wait()
        return await outbound.record_owner_fact(session, ctx.outbound, code, change, envelope.id, ctx.clock.now())

    @owners.on(DocumentDigitised)
    async def handle_digitised(session: AsyncSession, event: DocumentDigitised, envelope: Envelope) -> None:
        if event.dossier_code is None:
            return  # digitised for the warehouse alone, for no dossier
        # The procedure's components are named by document type code: without a component, the type is it.
        component = event.component_code or event.type_code
        await fold(session, event.dossier_code, lambda f: rules.digitised(f, component), envelope)

    @owners.on(DocumentReused)
    async def handle_reused(session: AsyncSession, event: DocumentReused, envelope: Envelope) -> None:
        component = event.component_code
        await fold(session, event.dossier_code, lambda f: rules.reused(f, component), envelope)

    @owners.on(FeeAssessed)
    async def handle_assessed(session: AsyncSession, event: FeeAssessed, envelope: Envelope) -> None:
        fees = [rules.AssessedFee(i.name, i.amount_vnd, i.kind) for i in event.items]
        facts = await fold(session, event.dossier_code, lambda f: rules.assessed(f, fees, event.total_vnd), envelope)
        now = ctx.clock.now()
        await outbound.fee_due(
            session, ctx.outbound, event.dossier_code, facts, envelope.id, assessed_at=event.at, now=now
        )

    @owners.on(PaymentSucceeded)
    async def handle_paid(session: AsyncSession, event: PaymentSucceeded, envelope: Envelope) -> None:
        def change(f: rules.OwnerFacts) -> rules.OwnerFacts:
            return rules.payment_succeeded(f, event.payment_id, event.channel.value, event.amount_vnd)

        await fold(session, event.dossier_code, change, envelope)

    @owners.on(PaymentRefunded)
    async def handle_refunded(session: AsyncSession, event: PaymentRefunded, envelope: Envelope) -> None:
        def change(f: rules.OwnerFacts) -> rules.OwnerFacts:
            return rules.payment_refunded(f, event.payment_id, event.amount_vnd)

        await fold(session, event.dossier_code, change, envelope)

    return owners
