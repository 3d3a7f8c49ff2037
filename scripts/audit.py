"""Check a service's audit chain: ``python scripts/audit.py verify intake`` (exit 1 and the first broken row if not).

``seal`` chains the rows committed since the last seal (the services do this themselves every second).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys

from libs.common.audit import seal, verify
from libs.common.db import create_engine, session_factory, transaction
from libs.common.migrate import SERVICES


async def run(command: str, service: str) -> int:
    settings = importlib.import_module(f"services.{service}.config").get_settings()
    engine = create_engine(settings.database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            if command == "seal":
                total = 0
                while sealed := await seal(session):
                    total += sealed
                print(f"{service}: sealed {total} rows")
                return 0
            check = await verify(session)
    finally:
        await engine.dispose()
    if check.ok:
        print(f"{service}: audit chain intact ({check.checked} rows sealed, {check.unsealed} waiting to be sealed)")
        return 0
    print(f"{service}: audit chain BROKEN at row id {check.first_broken_id}: {check.reason}", file=sys.stderr)
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["verify", "seal"])
    parser.add_argument("service", choices=SERVICES)
    args = parser.parse_args()
    return asyncio.run(run(args.command, args.service))


if __name__ == "__main__":
    sys.exit(main())
