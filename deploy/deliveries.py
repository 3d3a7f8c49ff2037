"""Outbound deliveries of a service: list them, replay dead letters, or discard them.

    python deploy/deliveries.py <service> list [--target T] [--status dead] [--key DOSSIER_CODE]
    python deploy/deliveries.py <service> attempts <delivery id>
    python deploy/deliveries.py <service> replay <delivery id>...
    python deploy/deliveries.py <service> discard <delivery id>...

Run it with the service's settings (its database URL). A replayed dead letter is due at once with a fresh retry
budget; the worker picks it up on its next round. A discarded one is never sent, and releases the deliveries that
waited behind it (same target and ordering key). Nothing here prints a payload: it can hold a citizen's name or
phone number; the target's answer is printed cut to 200 characters.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib

from libs.common.db import create_engine, session_factory, transaction
from libs.common.delivery import Deliveries, DeliveryStatus


async def main(args: argparse.Namespace) -> None:
    settings = importlib.import_module(f"services.{args.service}.config").get_settings()
    engine = create_engine(settings.database_url)
    deliveries = Deliveries()
    try:
        async with transaction(session_factory(engine)) as session:
            if args.command == "list":
                status = DeliveryStatus(args.status) if args.status else None
                rows = await deliveries.find(
                    session, target=args.target, ordering_key=args.key, status=status, limit=args.limit
                )
                for r in rows:
                    answer = (r.last_response or "")[:200].replace("\n", " ")
                    print(
                        f"{r.id}\t{r.target}\t{r.idempotency_key}\t{r.status}\tattempts={r.attempts}\t"
                        f"{r.last_reason or ''}\t{r.last_status_code or ''}\t{answer}"
                    )
            elif args.command == "attempts":
                for a in await deliveries.attempts(session, args.ids[0]):
                    answer = (a.response or "")[:200].replace("\n", " ")
                    when = f"{a.attempted_at:%Y-%m-%d %H:%M:%S}Z"
                    print(f"{when}\t{a.outcome}\t{a.reason}\t{a.status_code or ''}\t{answer}")
            elif args.command == "replay":
                done = await deliveries.replay(session, args.ids)
                print(f"replayed {done}; not dead letters: {sorted(set(args.ids) - set(done))}")
            else:
                done = await deliveries.discard(session, args.ids)
                print(f"discarded {done}; not dead letters: {sorted(set(args.ids) - set(done))}")
    finally:
        await engine.dispose()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("service")
    sub = p.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list")
    listing.add_argument("--target")
    listing.add_argument("--status", choices=[s.value for s in DeliveryStatus])
    listing.add_argument("--key", help="ordering key (the dossier code for the national portal)")
    listing.add_argument("--limit", type=int, default=100)
    for name in ("attempts", "replay", "discard"):
        sub.add_parser(name).add_argument("ids", type=int, nargs="+")
    return p


if __name__ == "__main__":
    asyncio.run(main(parser().parse_args()))
