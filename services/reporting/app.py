from __future__ import annotations

from fastapi import FastAPI

from libs.common.app import create_service_app
from services.reporting.config import ReportingSettings, get_settings
from services.reporting.consumers import consumer_spec
from services.reporting.dashboard.router import router as dashboard_router
from services.reporting.drift import start_drift_loop
from services.reporting.plans.router import router as plans_router
from services.reporting.reports.closing_router import router as closing_router
from services.reporting.reports.drift_router import router as drift_router
from services.reporting.reports.router import router as reports_router


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = create_service_app(
        service="reporting",
        title="motcua reporting",
        description=(
            "Indicators, plan-compliance reports and the official results form, folded from the events of every "
            "service. Every figure carries its numerator, denominator and window, and the dossiers behind it."
        ),
        settings=settings,
        routers=[reports_router, closing_router, plans_router, dashboard_router, drift_router],
        consumers=[consumer_spec(settings)],
        on_start=start_drift_loop,
    )
    app.state.settings = settings
    return app
