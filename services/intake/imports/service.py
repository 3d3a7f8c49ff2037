"""Historical dossiers with their steps, replayed through the same use cases and rules as live ones."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from libs.common.errors import DomainError, field_error
from services.intake.context import IntakeContext
from services.intake.dossiers import receipt
from services.intake.dossiers.commands import COMMANDS
from services.intake.dossiers.schemas import DossierCreate
from services.intake.errors import CommandRejected
from services.intake.imports import schemas as s
from services.intake.imports.schemas import ImportRow, ImportStep


def _validation_errors(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    return [field_error((*prefix, *err["loc"]), err["msg"], err["type"]) for err in exc.errors()]


def _as(ctx: IntakeContext, officer: s.ImportOfficer | None) -> IntakeContext:
    """The context of one replayed step: the officer the history names for it, else nobody (not the importer)."""
    return replace(ctx, importing=True, imported_officer=officer.ref() if officer else None)


async def import_row(ctx: IntakeContext, raw: Any) -> str:
    """Receive one historical dossier and replay its steps; raises on the first problem."""
    if isinstance(raw, dict) and "__unparsable__" in raw:
        raise CommandRejected("Not JSON", errors=[field_error(("line",), str(raw["__unparsable__"]))])
    try:
        row = ImportRow.model_validate(raw)
    except ValidationError as exc:
        raise CommandRejected("Invalid row", errors=_validation_errors(exc)) from exc
    if row.at.tzinfo is None:
        raise CommandRejected("Invalid row", errors=[field_error(("at",), "must carry a time zone")])
    data = DossierCreate.model_validate(row.model_dump(exclude={"code", "steps", "officer"}))
    dossier = await receipt.receive_dossier(_as(ctx, row.officer), data, code=row.code)
    for index, raw_step in enumerate(row.steps):
        try:
            step = ImportStep.model_validate(raw_step)
            command = step.command
            model, handler = COMMANDS[command]
            body = model.model_validate({k: v for k, v in raw_step.items() if k not in ("command", "officer")})
        except ValidationError as exc:
            raise CommandRejected(f"Invalid step {index}", errors=_validation_errors(exc, ("steps", index))) from exc
        try:
            await handler(_as(ctx, step.officer), dossier.code, body)
        except DomainError as exc:
            exc.detail = f"step {index} ({command.value}): {exc.detail}"
            raise
    return dossier.code


async def import_dossiers(ctx: IntakeContext, rows: list[Any]) -> s.ImportReport:
    """Each row in its own SAVEPOINT: a bad row is reported and rolled back, the good ones stay."""
    results: list[s.ImportRowResult] = []
    for number, raw in enumerate(rows, start=1):
        try:
            async with ctx.session.begin_nested():
                code = await import_row(ctx, raw)
        except DomainError as exc:
            errors = exc.errors or [{"loc": [], "field": "", "msg": exc.detail, "type": exc.code}]
            results.append(
                s.ImportRowResult(
                    row=number,
                    status="rejected",
                    errors=[
                        {**e, "msg": e.get("msg", exc.detail), "detail": exc.detail, "code": exc.code} for e in errors
                    ],
                )
            )
            continue
        results.append(s.ImportRowResult(row=number, status="accepted", dossier_code=code))
    accepted = sum(1 for r in results if r.status == "accepted")
    return s.ImportReport(accepted=accepted, rejected=len(results) - accepted, rows=results)
