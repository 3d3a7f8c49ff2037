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

from libs.common.logging import correlation_id

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
