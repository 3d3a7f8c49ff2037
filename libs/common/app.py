"""The service app factory: every service is built the same way, with its runtime built in the lifespan.

Nothing here runs at import time: engines, producers and consumers exist only between lifespan start and stop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.common.apidocs import install_api_docs
from libs.common.audit import run_sealer
from libs.common.auth import Authenticator, current_principal
from libs.common.clock import SYSTEM_CLOCK, Clock
from libs.common.contract import Topic, topic_name
from libs.common.contract.asyncapi import asyncapi_document
from libs.common.contract.registry import registry as contract_registry
from libs.common.db import create_engine, session_factory
from libs.common.errors import UNEXPECTED_RESPONSES, install_problem_handlers
from libs.common.health import broker_check, database_check, health_router
from libs.common.limits import BodyLimitProblems
from libs.common.logging import CorrelationIdMiddleware, configure_logging, get_logger
from libs.common.messaging.consumer import BatchHandler, ConsumerRunner, EventHandlers
from libs.common.messaging.kafka import producer_factory
from libs.common.messaging.outbox import SESSION_FLAG, Outbox, OutboxRelay
from libs.common.messaging.security import kafka_client_options
from libs.common.metrics import MetricsMiddleware, metrics_router
from libs.common.privacy import Pseudonymizer
from libs.common.settings import ServiceSettings
from libs.common.signin import signin_router
from libs.common.validation import CleanParameters
from libs.common.web import mount_static

log = get_logger(__name__)


@dataclass(frozen=True)
class ConsumerSpec:
    """A consumer group of this service: its name (also the inbox key), the topics it reads, its batch handler."""

    name: str
    topics: frozenset[Topic]
    handler: BatchHandler


@dataclass
class Runtime:
    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    outbox: Outbox
    # Pseudonyms of identity numbers for events (libs/common/privacy.py), from the deployment's key ring.
    pseudonymizer: Pseudonymizer
    clock: Clock = SYSTEM_CLOCK  # where use cases read "now" (rt.clock.now()); tests start the app with another
    relay: OutboxRelay | None = None
    consumers: list[ConsumerRunner] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    # Called with the session after each request's commit (e.g. to wake a delivery worker the request fed).
    after_commit: list[Callable[[AsyncSession], None]] = field(default_factory=list)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, rolled back when it raises."""
    rt = runtime(request)
    async with rt.sessions() as session:
        async with session.begin():
            yield session
        if session.info.get(SESSION_FLAG) and rt.relay is not None:
            rt.relay.wake()
        for hook in rt.after_commit:
            hook(session)


async def _runtime(request: Request) -> Runtime:
    # async on purpose: FastAPI runs a plain ``def`` dependency in its threadpool, a thread hop on every request
    return runtime(request)


# scope="function": commit before the response is sent, so a 2xx always means the change is durable.
DBSession = Annotated[AsyncSession, Depends(_session, scope="function")]
RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def contract_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/asyncapi.json", operation_id="asyncapi", response_model=None)
    async def asyncapi() -> JSONResponse:
        """The event contract as an AsyncAPI 3.0 document: every topic, event type and payload schema, the same
        document from every service (generated from the shared contract models)."""
        return JSONResponse(asyncapi_document())

    return router


def _operation_id(route: APIRoute) -> str:
    return route.name


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": UNEXPECTED_RESPONSES[500]["content"]}


_AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("No credentials, or credentials not accepted (problem+json)"),
    403: _problem("The caller lacks a role this route needs, or a cookie-authenticated post lacks its CSRF token"),
}
_NOT_FOUND = _problem("Nothing at this address, or nothing the caller may see: the same answer (problem+json)")


def _dependency_calls(route: APIRoute) -> set[Any]:
    calls: set[Any] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call is not None:
            calls.add(dependant.call)
        pending.extend(dependant.dependencies)
    return calls


def _api_routes(routes: Sequence[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI includes routers lazily
        if included is not None:
            yield from _api_routes(included.routes)


def declare_problem_responses(app: FastAPI) -> None:
    """Declare in the OpenAPI the error statuses every route of a kind answers, so that no answer is undeclared:
    401/403 for a route that authenticates its caller (found in its dependency tree, the way FastAPI runs it), 404
    for a route whose path names a record. Statuses a route declares itself are kept."""
    generate = app.openapi
    done: list[int] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        if done and done[-1] == id(schema):
            return schema
        for route in _api_routes(app.router.routes):
            extra: dict[int | str, dict[str, Any]] = {}
            if current_principal in _dependency_calls(route):
                extra.update(_AUTH_RESPONSES)
            if route.param_convertors:
                extra[404] = _NOT_FOUND
            for method in (route.methods or set()) - {"HEAD"}:
                operation = schema.get("paths", {}).get(route.path_format, {}).get(method.lower())
                if operation is not None:
                    for status, response in extra.items():
                        operation["responses"].setdefault(str(status), response)
        done.append(id(schema))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_service_app(
    *,
    service: str,
    title: str,
    description: str,
    settings: ServiceSettings,
    routers: Sequence[APIRouter],
    consumers: Sequence[ConsumerSpec] = (),
    on_start: Callable[[FastAPI, Runtime], Awaitable[None]] | None = None,
    version: str = "0.1.0",
    clock: Clock = SYSTEM_CLOCK,
) -> FastAPI:
    """Build a motcua service: problem+json errors, correlation ids, metrics, health, outbox relay, consumers.

    The clock is ``app.state.clock``, read when the lifespan starts: a test may replace it before starting the app
    (``libs.common.testing.running_app(app, clock=...)``) and the runtime, outbox, relay and consumers all use it.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(service, level=settings.log_level, json=settings.log_json)
        engine = create_engine(
            settings.database_url, pool_size=settings.database_pool_size, echo=settings.database_echo
        )
        clock: Clock = app.state.clock
        rt = Runtime(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            outbox=Outbox(source=f"/motcua/{service}", topic_prefix=settings.topic_prefix, clock=clock),
            clock=clock,
            pseudonymizer=settings.pseudonymizer(),
        )
        app.state.runtime = rt
        app.state.authenticator = Authenticator.from_settings(settings)
        app.state.readiness_checks = {"database": database_check(engine)}
        if settings.kafka_enabled:
            app.state.readiness_checks["broker"] = broker_check(settings.kafka_bootstrap_servers)
            kafka_options = kafka_client_options(settings)
            rt.relay = OutboxRelay(
                engine=engine,
                producer_factory=producer_factory(
                    settings.kafka_bootstrap_servers, f"motcua-{service}", **kafka_options
                ),
                client_options=kafka_options,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                service=service,
                batch_size=settings.relay_batch_size,
                poll_seconds=settings.relay_poll_seconds,
                clock=clock,
            )
            rt.tasks.append(asyncio.create_task(rt.relay.run(), name=f"{service}-relay"))
            # Old contract versions that carried personal data are upcast with the deployment's keys.
            keyed = contract_registry.with_pseudonymizer(rt.pseudonymizer)
            for spec in consumers:
                handler = spec.handler.using(keyed) if isinstance(spec.handler, EventHandlers) else spec.handler
                runner = ConsumerRunner(
                    name=spec.name,
                    # The group is named after the deployment's topic prefix too: two deployments (or two tests) on
                    # one cluster never join each other's group and rebalance each other.
                    group_id=f"{settings.topic_prefix}.{spec.name}",
                    engine=engine,
                    handler=handler,
                    topics=sorted(topic_name(settings.topic_prefix, t) for t in spec.topics),
                    bootstrap_servers=settings.kafka_bootstrap_servers,
                    batch_size=settings.consumer_batch_size,
                    client_options=kafka_options,
                    clock=clock,
                    registry=keyed,
                )
                rt.consumers.append(runner)
                rt.tasks.append(asyncio.create_task(runner.run(), name=f"{service}-{spec.name}"))
        if settings.audit_seal_seconds > 0:
            sealer = run_sealer(rt.sessions, interval_seconds=settings.audit_seal_seconds)
            rt.tasks.append(asyncio.create_task(sealer, name=f"{service}-audit-sealer"))
        if on_start is not None:
            await on_start(app, rt)
        log.info("service started", database=engine.url.render_as_string(hide_password=True))
        try:
            yield
        finally:
            if rt.relay is not None:
                await rt.relay.stop()
            for runner in rt.consumers:
                await runner.stop()
            for task in rt.tasks:
                task.cancel()
            await asyncio.gather(*rt.tasks, return_exceptions=True)
            await engine.dispose()

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        docs_url=None,
        redoc_url=None,
    )
    install_api_docs(app)
    app.state.clock = clock
    install_problem_handlers(app)
    app.add_middleware(CleanParameters)
    app.add_middleware(BodyLimitProblems)
    app.add_middleware(MetricsMiddleware, service=service)
    app.add_middleware(CorrelationIdMiddleware)
    # Every route may answer 500 or 503 (database unavailable): declared once here, for all of them.
    app.include_router(health_router(), responses=UNEXPECTED_RESPONSES)
    app.include_router(metrics_router(), responses=UNEXPECTED_RESPONSES)
    app.include_router(contract_router(), responses=UNEXPECTED_RESPONSES)
    from libs.common.messaging.outbox_api import outbox_router  # it needs this module's DBSession

    app.include_router(outbox_router(), responses=UNEXPECTED_RESPONSES)
    mount_static(app)
    # The body cap of every route unless the route declares its own (libs/common/limits.py).
    app.include_router(signin_router(), max_body_size=settings.body_limit_bytes)
    for router in routers:
        app.include_router(router, max_body_size=settings.body_limit_bytes, responses=UNEXPECTED_RESPONSES)
    declare_problem_responses(app)
    return app
