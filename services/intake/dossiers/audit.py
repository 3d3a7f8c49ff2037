"""The audit rows of dossiers (docs/security.md, "Audit"): every change, and every time a dossier's personal data
(applicant name, identity number, contact) is shown to someone, in the transaction of the request that did it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from libs.common.audit import AuditAction, principal_rows, record_principal
from services.intake.context import IntakeContext
from services.intake.models import Dossier

SUBJECT_KIND = "dossier"


async def audit(
    ctx: IntakeContext, action: AuditAction, dossiers: Sequence[Dossier], detail: dict[str, Any] | None = None
) -> None:
    await record_principal(ctx.session, ctx.principal, **_audited(ctx, action, dossiers, detail))


def audit_rows(
    ctx: IntakeContext, action: AuditAction, dossiers: Sequence[Dossier], detail: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The rows ``audit`` appends, for a caller that writes them with its other writes in one statement."""
    return principal_rows(ctx.principal, **_audited(ctx, action, dossiers, detail))


def _audited(
    ctx: IntakeContext, action: AuditAction, dossiers: Sequence[Dossier], detail: dict[str, Any] | None
) -> dict[str, Any]:
    # every dossier row holds the applicant's identity, so every read or change of one touches personal data
    return {
        "at": ctx.now,
        "action": action,
        "subject_kind": SUBJECT_KIND,
        "subject_ids": [d.code for d in dossiers],
        "personal_data": True,
        "agencies": [(d.current_agency_code, d.handling_agency_code, d.receiving_agency_code) for d in dossiers],
        "detail": detail,
    }
