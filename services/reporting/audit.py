"""Reporting's audit rows (docs/security.md, "Audit"), appended in the transaction of the request that did it.

Reporting keeps no name or identity number (an applicant is a keyed hash, services/reporting/fold/pseudonym.py), but
a dossier code with its procedure, agency and dates still points at one citizen's affair: every list of dossiers
shown or exported, and every dossier's fact and ledger read, is recorded as a read of personal data, one row per
dossier. Changes (plans loaded, periods closed, restatements approved) are recorded too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.audit import AuditAction, record_principal
from libs.common.auth import Principal

DOSSIER = "dossier"


async def dossiers_shown(
    session: AsyncSession,
    principal: Principal,
    at: datetime,
    codes: Iterable[str],
    *,
    action: AuditAction = AuditAction.READ,
    **detail: Any,
) -> None:
    """One row per dossier of a list (or one dossier) shown or exported; ``detail`` says which list (never names)."""
    await record_principal(
        session,
        principal,
        at=at,
        action=action,
        subject_kind=DOSSIER,
        subject_ids=sorted(set(codes)),
        personal_data=True,
        detail=detail or None,
    )


async def changed(
    session: AsyncSession, principal: Principal, at: datetime, action: AuditAction, kind: str, subject_id: str
) -> None:
    await record_principal(
        session, principal, at=at, action=action, subject_kind=kind, subject_ids=[subject_id], personal_data=False
    )
