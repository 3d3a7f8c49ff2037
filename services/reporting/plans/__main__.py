"""Load plan files into reporting's database (and its outbox, so ``PlanLoaded`` is published by the relay)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from libs.common.clock import SYSTEM_CLOCK
from libs.common.db import create_engine, session_factory
from libs.common.messaging.outbox import Outbox
from services.reporting.config import get_settings
from services.reporting.plans.loader import load_if_changed, read_plan_file, seed_files
from services.reporting.plans.rules import PlanError


async def load(paths: list[Path]) -> int:
    settings = get_settings()
    engine = create_engine(settings.database_url)
    outbox = Outbox(source="/motcua/reporting", topic_prefix=settings.topic_prefix)
    try:
        for path in paths:
            try:
                raw = read_plan_file(path)
                async with session_factory(engine)() as session, session.begin():
                    changed = await load_if_changed(session, outbox, raw, at=SYSTEM_CLOCK.now())
            except (PlanError, ValueError) as exc:
                print(f"{path.name}: not loaded: {exc}", file=sys.stderr)
                return 1
            print(f"{path.name}: {'loaded' if changed else 'unchanged'} ({raw.get('plan_id')})")
    finally:
        await engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.reporting.plans", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("load-seeds", help="load the seed plans shipped with reporting")
    files = sub.add_parser("load", help="load plan files")
    files.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    paths = seed_files() if args.command == "load-seeds" else list(args.paths)
    return asyncio.run(load(paths))


if __name__ == "__main__":
    sys.exit(main())
