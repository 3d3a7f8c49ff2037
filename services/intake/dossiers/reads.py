"""How a dossier is looked up and shown: its outcome, whether it is overdue, the staff and public views."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.app import DBSession
from libs.common.audit import AuditAction, personal_data_reads
from libs.common.contract import ApplicantKind, Channel
from libs.common.contract.timeliness import Outcome, judge_outcome, overdue
from services.intake.context import Ctx
from services.intake.domain import lifecycle
from services.intake.domain.formatting import mask_name, vn_time
from services.intake.domain.lifecycle import Status
from services.intake.dossiers import repository
from services.intake.dossiers import schemas as s
from services.intake.dossiers.audit import SUBJECT_KIND, audit
from services.intake.errors import DossierNotFound
from services.intake.models import Dossier


def finished_outcome(dossier: Dossier) -> Outcome:
    """The outcome of a dossier that has just finished or finished earlier (docs/domain.md, "Outcome")."""
    assert dossier.finished_at is not None
    return judge_outcome(dossier.finished_at, dossier.due_at, dossier.supplement_requests)


def dossier_outcome(dossier: Dossier) -> Outcome | None:
    """The outcome once finished; none while open, and none for a withdrawn dossier (left out of timeliness)."""
    if dossier.finished_at is None or Status(dossier.status) not in lifecycle.FINISHED:
        return None
    return finished_outcome(dossier)


def dossier_overdue(dossier: Dossier, at: datetime) -> bool:
    """Whether the dossier, as intake holds it now, is overdue at ``at`` (docs/domain.md, "Overdue")."""
    if Status(dossier.status) not in lifecycle.UNFINISHED:
        return False
    return overdue(
        at, due_at=dossier.due_at, paused_since=dossier.paused_at, second_request=dossier.supplement_requests > 1
    )


async def get_dossier_or_404(ctx: Ctx, code: str) -> Dossier:
    """The dossier if within the caller's scope, else 404 exactly as for a missing one. Showing it is a read of the
    applicant's personal data, so it is audited here, once, for every route that shows a dossier (views, forms)."""
    dossier = await repository.get_dossier(ctx.session, ctx.principal, code)
    if dossier is None:
        raise DossierNotFound(f"No dossier {code}")
    await audit(ctx, AuditAction.READ, [dossier])
    return dossier


ValidDossier = Annotated[Dossier, Depends(get_dossier_or_404)]


async def get_public_dossier_or_404(session: DBSession, code: str) -> Dossier:
    dossier = await repository.get_public_dossier(session, code)
    if dossier is None:
        raise DossierNotFound(f"No dossier {code}")
    return dossier


PublicDossier = Annotated[Dossier, Depends(get_public_dossier_or_404)]


async def personal_data_access(session: AsyncSession, code: str, id_last4: str) -> s.PersonalDataReadsRead:
    """For the applicant on the public look-up: which agencies read or changed their personal data, and when.
    The dossier code and the last four digits of the identity number must both match; anything else is the same 404
    as a missing dossier, so the page tells nothing to someone who holds only a code."""
    dossier = await repository.get_public_dossier(session, code)
    if dossier is None or not hmac.compare_digest(dossier.applicant_id_code[-4:], id_last4):
        raise DossierNotFound(f"No dossier {code} with that identity number")
    reads = await personal_data_reads(session, SUBJECT_KIND, dossier.code)
    return s.PersonalDataReadsRead(
        code=dossier.code,
        reads=[s.PersonalDataReadRead(at=r.at, agency_code=r.agency_code, action=r.action) for r in reads],
    )


def staff_view(dossier: Dossier, now: datetime) -> s.DossierRead:
    outcome = dossier_outcome(dossier)
    appointment = dossier.apology_due_at or dossier.due_at
    return s.DossierRead(
        code=dossier.code,
        status=dossier.status,
        procedure_code=dossier.procedure_code,
        procedure_version=dossier.procedure_version,
        procedure_name=dossier.procedure_name,
        receiving_agency_code=dossier.receiving_agency_code,
        receiving_level=dossier.receiving_level,
        handling_agency_code=dossier.handling_agency_code,
        handling_level=dossier.handling_level,
        current_agency_code=dossier.current_agency_code,
        desk=dossier.desk,
        channel=Channel(dossier.channel),
        keyed_in_at_desk=dossier.keyed_in_at_desk,
        cross_boundary=dossier.cross_boundary,
        applicant=s.ApplicantRead(
            kind=ApplicantKind(dossier.applicant_kind),
            id_code=dossier.applicant_id_code,
            name=dossier.applicant_name,
            identified_by_vneid=dossier.identified_by_vneid,
        ),
        time_limit=s.TimeLimitRead(amount=dossier.time_limit_amount, unit=dossier.time_limit_unit),
        received_at=dossier.received_at,
        initial_due_at=dossier.initial_due_at,
        due_at=dossier.due_at,
        appointment_at=appointment,
        appointment_text=vn_time(appointment),
        fees_due_vnd=dossier.fees_due_vnd,
        supplement_requests=dossier.supplement_requests,
        paused_at=dossier.paused_at,
        paused_seconds=dossier.paused_seconds,
        apology_due_at=dossier.apology_due_at,
        apology_issued_in_time=dossier.details.get("apology_issued_in_time"),
        explained_at=dossier.explained_at,
        finished_at=dossier.finished_at,
        decision=dossier.decision,
        electronic_result=dossier.electronic_result,
        result_refs=list(dossier.details.get("result_refs", [])),
        returned_at=dossier.returned_at,
        return_channel=dossier.return_channel,
        rating=dossier.rating,
        outcome=outcome.value if outcome else None,
        overdue=dossier_overdue(dossier, now),
        allowed_commands=[c.value for c in lifecycle.allowed_commands(Status(dossier.status))],
        components=list(dossier.details.get("components", [])),
    )


def public_view(dossier: Dossier) -> s.PublicDossierRead:
    """What anyone holding the code sees: the applicant's name masked if a person, the apology's date if any."""
    appointment = dossier.apology_due_at or dossier.due_at
    masked = mask_name(dossier.applicant_name) if dossier.applicant_kind == "person" else dossier.applicant_name
    return s.PublicDossierRead(
        code=dossier.code,
        status=dossier.status,
        procedure_name=dossier.procedure_name,
        applicant=masked,
        received_at=dossier.received_at,
        appointment_at=appointment,
        appointment_text=vn_time(appointment),
        finished_at=dossier.finished_at,
        returned_at=dossier.returned_at,
    )
