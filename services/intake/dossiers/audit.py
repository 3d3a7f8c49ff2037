"""The audit rows of dossiers (docs/security.md, "Audit"): every change, and every time a dossier's personal data
(applicant name, identity number, contact) is shown to someone, in the transaction of the request that did it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from libs.common.audit import AuditAction, record_principal
from services.intake.context import IntakeContext
from services.intake.models import Dossier

SUBJECT_KIND = "dossier"


async def audit(
    ctx: IntakeContext, action: AuditAction, dossiers: Sequence[Dossier], detail: dict[str, Any] | None = None
) -> None:
    # every dossier row holds the applicant's identity, so every read or change of one touches personal data
    await record_principal(
        ctx.session,
        ctx.principal,
        at=ctx.now,
        action=action,
        subject_kind=SUBJECT_KIND,
        subject_ids=[d.code for d in dossiers],
        personal_data=True,
        agencies=[(d.current_agency_code, d.handling_agency_code, d.receiving_agency_code) for d in dossiers],
        detail=detail,
    )
