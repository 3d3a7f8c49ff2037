"""Re-publish dead-lettered events to their topic, then delete them from the consumer's ``dead_letter`` table.

    python deploy/replay_dead_letters.py <consuming service> <dead_letter id>...           (repository, make install)
    docker compose --env-file deploy/.env exec -T reporting \
        python - reporting 12 13 < deploy/replay_dead_letters.py                           (inside a service container)

Run it with the consuming service's settings (its database URL, KAFKA_BOOTSTRAP_SERVERS) after fixing what made
the events fail. The stored value goes back to its topic with its key, so every consumer of that topic sees it again;
those that applied it already skip it through their inbox, and the dead-lettered one (it has no inbox row) applies
it. Rows are deleted only if every send was acknowledged.
"""

from __future__ import annotations

import asyncio
import importlib
import sys

from aiokafka import AIOKafkaProducer
from sqlalchemy import delete, select

from libs.common.db import create_engine
from libs.common.messaging.kafka import ensure_topic_names
from libs.common.messaging.security import kafka_client_options
from libs.common.messaging.tables import dead_letter


async def replay(service: str, ids: list[int]) -> None:
    settings = importlib.import_module(f"services.{service}.config").get_settings()
    engine = create_engine(settings.database_url)
    security = kafka_client_options(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", **security)
    await producer.start()
    try:
        async with engine.begin() as conn:
            rows = (await conn.execute(select(dead_letter).where(dead_letter.c.id.in_(ids)))).all()
            await ensure_topic_names(settings.kafka_bootstrap_servers, {r.topic for r in rows}, **security)
            for r in rows:
                await producer.send_and_wait(r.topic, r.value.encode(), key=r.key.encode() if r.key else None)
                print(f"replayed dead letter {r.id} to {r.topic} (was offset {r.offset}: {r.error[:80]})")
            await conn.execute(delete(dead_letter).where(dead_letter.c.id.in_([r.id for r in rows])))
        missing = sorted(set(ids) - {r.id for r in rows})
        if missing:
            print(f"no dead letter with id {missing}", file=sys.stderr)
    finally:
        await producer.stop()
        await engine.dispose()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    asyncio.run(replay(sys.argv[1], [int(a) for a in sys.argv[2:]]))
