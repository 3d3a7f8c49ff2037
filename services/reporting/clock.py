"""Where reporting reads "now": the runtime's clock (``libs.common.clock``), once at the boundary — routers take
``Now`` and pass it down as ``at``, so use cases and rules never read the time themselves and tests fix it by
starting the app with another clock."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends

from libs.common.app import RuntimeDep


def now(rt: RuntimeDep) -> datetime:
    return rt.clock.now()


Now = Annotated[datetime, Depends(now)]
