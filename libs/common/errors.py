"""RFC 9457 problem details: one error model and one handler for every service.

Domain code raises ``DomainError`` subclasses (never ``HTTPException``); the handler renders them, payload validation
errors, and Starlette's own 404/405 as ``application/problem+json`` with the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.common.db import is_unavailable
from libs.common.logging import correlation_id, get_logger

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://motcua.readthedocs.io/problems/"


class DomainError(Exception):
    """A business failure with its HTTP status; ``code`` is stable and machine-readable."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extra = extra


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict with the current state"


class Gone(DomainError):
    status, code, title = 410, "gone", "No longer available"


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Not allowed for this role"


class InvalidInput(DomainError):
    """A request that parses but breaks a rule about its own content (422, with the offending fields)."""

    status, code, title = 422, "invalid_input", "Invalid input"


def field_error(loc: list[str | int] | tuple[str | int, ...], msg: str, type_: str = "value_error") -> dict[str, Any]:
    return {"loc": list(loc), "field": ".".join(str(p) for p in loc), "msg": msg, "type": type_}


def problem(
    request: Request,
    status: int,
    *,
    code: str,
    title: str | None = None,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
        "correlation_id": correlation_id.get(),
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem(
        request,
        exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        **exc.extra,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        field_error(
            # drop the "body"/"query" root so that `field` names the payload field the client sent
            tuple(p for p in err["loc"][1:]) or tuple(err["loc"]),
            err["msg"],
            err["type"],
        )
        | {"in": err["loc"][0] if err["loc"] else None}
        for err in exc.errors()
    ]
    fields = ", ".join(e["field"] for e in errors)
    return problem(
        request,
        422,
        code="validation_error",
        title="Invalid request",
        detail=f"Invalid fields: {fields}",
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {
        404: "not_found",
        405: "method_not_allowed",
        401: "unauthorized",
        403: "forbidden",
        413: "payload_too_large",
        429: "too_many_requests",
    }.get(exc.status_code, "http_error")
    return problem(request, exc.status_code, code=code, detail=str(exc.detail), headers=exc.headers)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Added first, so it sits inside the correlation-id middleware the factory adds later: the id is still known.
    app.add_middleware(UnexpectedErrorMiddleware)


# How long a client should wait before retrying when the database is unavailable: a restart or a failover of
# PostgreSQL takes seconds, and the pool reconnects on the next checkout (pre-ping).
RETRY_AFTER_SECONDS = 5


def unexpected_problem(request: Request, exc: Exception) -> JSONResponse:
    """503 with ``Retry-After`` when the database cannot be reached; 500 for anything else. Never the error text:
    it may quote data; the correlation id finds the logged traceback."""
    if is_unavailable(exc):
        log.warning("database unavailable", path=request.url.path, error_type=type(exc).__name__)
        return problem(
            request,
            503,
            code="database_unavailable",
            title="Service temporarily unavailable",
            detail=f"The database cannot be reached; retry after {RETRY_AFTER_SECONDS} seconds.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    log.error("unhandled error", path=request.url.path, error_type=type(exc).__name__, exc_info=exc)
    return problem(
        request,
        500,
        code="internal_error",
        title="Internal error",
        detail="An unexpected error occurred; quote the correlation id when reporting it.",
    )


class UnexpectedErrorMiddleware:
    """Answers any exception no handler took as problem+json (Starlette's default is a bare text/plain 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            if started:  # too late for another answer; the server closes the connection
                raise
            await unexpected_problem(Request(scope), exc)(scope, receive, send)


_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": ["string", "null"]},
        "instance": {"type": "string"},
        "code": {"type": "string"},
        "correlation_id": {"type": ["string", "null"]},
    },
}
UNEXPECTED_RESPONSES: dict[int | str, dict[str, Any]] = {
    500: {
        "description": "Unexpected error (problem+json with the correlation id)",
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
    },
    503: {
        "description": "The database is unavailable; retry after `Retry-After` seconds (problem+json)",
        "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
    },
}
