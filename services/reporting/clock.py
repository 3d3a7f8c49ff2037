"""The one place reporting reads the wall clock: the boundaries (routers, the plan loader) take "now" from here and
pass it down, so use cases and rules never call ``datetime.now`` and tests can fix the time.

To be replaced by the shared ``libs.common.clock.Clock`` on the runtime when it lands.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends


def now() -> datetime:
    return datetime.now(UTC)


Now = Annotated[datetime, Depends(now)]
