from __future__ import annotations

from fastapi import FastAPI

from libs.common.app import ConsumerSpec, Runtime, create_service_app
from libs.common.dossier_agencies import dossier_agency_handlers
from services.payments.config import PaymentsSettings, get_settings
from services.payments.router import router


def create_app(settings: PaymentsSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    async def on_start(app: FastAPI, rt: Runtime) -> None:
        app.state.provider_secrets = settings.provider_secret_table()

    # One consumer: which agencies each dossier belongs to (receiving, handling, current), for scoping.
    agencies = dossier_agency_handlers()
    return create_service_app(
        service="payments",
        title="motcua payments",
        description="Fees of dossiers, payment intents with idempotency keys, counter confirmation, signed provider "
        "callbacks, refunds and reconciliation of provider statements. Money is an integer number of VND.",
        settings=settings,
        routers=[router],
        consumers=[ConsumerSpec(name="payments-dossier-agency", topics=frozenset(agencies.topics), handler=agencies)],
        on_start=on_start,
    )
