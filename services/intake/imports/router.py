"""The import route: historical dossiers from a JSON array or JSON lines, raw or as a multipart upload (ops)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request

from libs.common.auth import Role
from libs.common.errors import InvalidInput, field_error
from services.intake.context import Ctx, allow
from services.intake.imports import schemas as s
from services.intake.imports import service

router = APIRouter()


async def _import_rows(request: Request) -> list[Any]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("Send the file in the 'file' field", errors=[field_error(("file",), "missing")])
        raw = (await upload.read()).decode("utf-8-sig")
    else:
        raw = (await request.body()).decode("utf-8-sig")
    text = raw.strip()
    if text.startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput("Not a JSON array", errors=[field_error(("file",), str(exc))]) from exc
        if not isinstance(rows, list):
            raise InvalidInput("Not a JSON array", errors=[field_error(("file",), "expected an array")])
        return rows
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            rows.append({"__unparsable__": f"line {number}: {exc}"})
    return rows


@router.post("/imports/dossiers", operation_id="import_dossiers", tags=["imports"], dependencies=[allow(Role.OPS)])
async def import_dossiers(request: Request, ctx: Ctx) -> s.ImportReport:
    """Import historical dossiers with their steps, from a JSON array or JSON lines (the raw body, or a multipart
    upload in ``file``). Each row: the receipt fields with ``at`` required, optionally its original ``code``, and
    ``steps``: ``[{"command": "transfer", "at": ..., ...}, ...]``. Each row is applied in its own savepoint: a bad row
    is reported with its reasons and the good rows are kept. Every step publishes its event, as live ones do."""
    rows = await _import_rows(request)
    return await service.import_dossiers(ctx, rows)
