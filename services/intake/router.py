from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from libs.common.app import DBSession, RuntimeDep
from libs.common.auth import Principal, Role, require
from services.intake import repository, service
from services.intake.errors import DossierNotFound
from services.intake.schemas import DossierCreate, DossierRead

router = APIRouter(tags=["dossiers"])

DeskOrPortal = Annotated[Principal, Depends(require(Role.DESK_OFFICER, Role.PORTAL))]
Staff = Annotated[Principal, Depends(require(Role.DESK_OFFICER, Role.HANDLER, Role.LEADER, Role.OPS))]


@router.post("/dossiers", status_code=status.HTTP_201_CREATED, operation_id="receive_dossier")
async def receive_dossier(
    body: DossierCreate, session: DBSession, rt: RuntimeDep, request: Request, _: DeskOrPortal
) -> DossierRead:
    """Receive a dossier: assigns its code and computes the appointment (due) time in working days."""
    dossier = await service.receive_dossier(session, rt.outbox, request.app.state.calendar, body)
    return DossierRead.model_validate(dossier)


@router.get("/dossiers/{code}", operation_id="get_dossier")
async def get_dossier(code: str, session: DBSession, _: Staff) -> DossierRead:
    """A dossier as staff see it."""
    dossier = await repository.get_dossier(session, code)
    if dossier is None:
        raise DossierNotFound(f"No dossier {code}")
    return DossierRead.model_validate(dossier)
