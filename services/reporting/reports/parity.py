"""The parity check: reporting's counts per receiving agency against intake's own (``GET /stats/dossiers``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.drift import compare
from services.reporting.errors import IntakeUnavailable
from services.reporting.reports import repository
from services.reporting.reports.periods import Window
from services.reporting.reports.service import window_dict


async def parity(
    session: AsyncSession,
    windows: Sequence[Window],
    *,
    intake_url: str,
    api_key: str,
    timeout: float,
    settled_before: datetime,
    transport: Any = None,
) -> dict[str, Any]:
    """Compare dossiers received and finished per receiving agency with intake's own counts
    (``GET {intake}/stats/dossiers?from=&to=``, local days inclusive) for each window, and per dossier the intake
    events of the window's days that one side holds and the other does not (services.reporting.drift); list any
    drift."""
    out_windows = []
    in_sync = True
    async with httpx.AsyncClient(
        base_url=intake_url, timeout=timeout, headers={"Authorization": f"Bearer {api_key}"}, transport=transport
    ) as client:
        for w in windows:
            try:
                response = await client.get(
                    "/stats/dossiers", params={"from": w.first_on.isoformat(), "to": w.last_on.isoformat()}
                )
            except httpx.HTTPError as exc:
                raise IntakeUnavailable(f"Intake at {intake_url} did not answer: {exc!r}") from exc
            if response.status_code != 200:
                raise IntakeUnavailable(
                    f"Intake answered {response.status_code} to GET /stats/dossiers: {response.text[:300]}"
                )
            theirs = {
                str(a["agency_code"]): {"received": int(a.get("received", 0)), "finished": int(a.get("finished", 0))}
                for a in response.json().get("agencies", [])
            }
            ours = await repository.counts_per_receiving_agency(session, w.start, w.end)
            rows: list[dict[str, Any]] = []
            for code in sorted(set(theirs) | set(ours)):
                mine = ours.get(code, {"received": 0, "finished": 0})
                other = theirs.get(code, {"received": 0, "finished": 0})
                drift = {k: mine[k] - other[k] for k in ("received", "finished")}
                if any(drift.values()):
                    in_sync = False
                rows.append({"agency_code": code, "reporting": mine, "intake": other, "drift": drift})
            events = (await compare(session, client, w.first_on, w.last_on, settled_before=settled_before)).as_dict()
            window_in_sync = not any(any(r["drift"].values()) for r in rows) and events["in_sync"]
            in_sync = in_sync and window_in_sync
            out_windows.append(
                {
                    "window": window_dict(w),
                    "agencies": rows,
                    "events": {k: v for k, v in events.items() if k not in ("from", "to", "dossiers", "republished")},
                    "dossiers": events["dossiers"],
                    "in_sync": window_in_sync,
                }
            )
    return {"intake_url": intake_url, "in_sync": in_sync, "windows": out_windows}
