"""Clean input for request schemas: text without control characters, dates within 1900–2100, bounded pages.

A NUL byte cannot be stored in a PostgreSQL text column and makes the driver fail deep inside a transaction (a 500,
with the statement's parameters in the traceback); other control characters and lone UTF-16 surrogates are never part
of a name, an address or a note, and corrupt the forms and exports they end up in. Dates far outside the range of
administrative records are typing mistakes (0202 for 2020) that would silently skew due dates and reports.

Two ways to adopt it in a service's schemas:

- ``class DossierCreate(CleanInput)``: every string anywhere in the model (nested lists, dicts and non-clean models
  included) may hold tab, CR and LF but no other control character, and every date or datetime lies in 1900–2100;
  a violation is 422 naming the top-level field;
- per field, where a stricter rule applies: ``SingleLineText`` (no tab/CR/LF either), ``MultiLineText``,
  ``BoundedDate``, ``BoundedDatetime``; these also work as query parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Query, Request
from pydantic import AfterValidator, BaseModel, ValidationInfo, field_validator
from starlette.types import ASGIApp, Receive, Scope, Send

from libs.common.errors import field_error, problem

EARLIEST_YEAR = 1900
LATEST_YEAR = 2100

# C0 and C1 controls, DEL, and UTF-16 surrogates (which JSON's \\ud800 escapes can smuggle into a str).
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_SINGLE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _describe(char: str) -> str:
    return f"U+{ord(char):04X}"


def check_text(value: str, *, multiline: bool = True) -> str:
    found = (_CONTROL_MULTILINE if multiline else _CONTROL_SINGLE_LINE).search(value)
    if found:
        allowed = " (tab, CR and LF are allowed)" if multiline else ""
        raise ValueError(f"must not contain control characters such as {_describe(found.group())}{allowed}")
    return value


def check_date(value: date) -> date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


def _single_line(value: str) -> str:
    return check_text(value, multiline=False)


def _datetime_in_range(value: datetime) -> datetime:
    check_date(value)
    return value


SingleLineText = Annotated[str, AfterValidator(_single_line)]
MultiLineText = Annotated[str, AfterValidator(check_text)]
BoundedDate = Annotated[date, AfterValidator(check_date)]
BoundedDatetime = Annotated[datetime, AfterValidator(_datetime_in_range)]


def _walk(value: Any, depth: int = 0) -> None:
    if depth > 32:
        return
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, date):  # datetime is a date
        check_date(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _walk(key, depth + 1)
            _walk(item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _walk(item, depth + 1)
    elif isinstance(value, BaseModel) and not isinstance(value, CleanInput):
        # A clean model checked its own fields; any other model (a contract type) is walked here.
        for item in value.__dict__.values():
            _walk(item, depth + 1)


class CleanInput(BaseModel):
    """Base of request models: no control characters in any text, every date within 1900–2100 (422 naming the field)."""

    @field_validator("*", mode="after")
    @classmethod
    def _clean(cls, value: Any, _info: ValidationInfo) -> Any:
        _walk(value)
        return value


# Pagination bounds for list routes: a page number or offset far past any real list would overflow the database's
# 64-bit OFFSET (a 500) long before it found anything.
PageNumber = Annotated[int, Query(ge=1, le=100_000, description="1-based page number")]
PageSize = Annotated[int, Query(ge=1, le=200, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")]


class CleanParameters:
    """Refuse a request whose path or query string holds a control character: 422 ``validation_error`` naming the
    parameter, before any route, dependency or query runs.

    Bodies are checked by ``CleanInput``; path segments and query values are codes, ids, dates and search words,
    never text with control characters, and a NUL among them would otherwise reach PostgreSQL, which cannot hold it
    in text (a 500 from deep inside the transaction). Found by the schemathesis test on PostgreSQL.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        errors = parameter_problems(scope) if scope["type"] == "http" else []
        if not errors:
            await self.app(scope, receive, send)
            return
        fields = ", ".join(e["field"] for e in errors)
        response = problem(
            Request(scope),
            422,
            code="validation_error",
            title="Invalid request",
            detail=f"Invalid fields: {fields}",
            errors=errors,
        )
        await response(scope, receive, send)


def parameter_problems(scope: Scope) -> list[dict[str, Any]]:
    """The path and each query parameter holding a control character (tab, CR and LF included), as field errors."""
    errors: list[dict[str, Any]] = []
    path = str(scope.get("path", ""))
    found = _CONTROL_SINGLE_LINE.search(path)
    if found:
        message = f"must not contain control characters such as {_describe(found.group())}"
        errors.append(field_error(("path",), message) | {"in": "path"})
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        found = _CONTROL_SINGLE_LINE.search(name) or _CONTROL_SINGLE_LINE.search(value)
        if found:
            message = f"must not contain control characters such as {_describe(found.group())}"
            field = name if not _CONTROL_SINGLE_LINE.search(name) else "query"
            errors.append(field_error((field,), message) | {"in": "query"})
    return errors
