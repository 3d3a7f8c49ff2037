"""Print the Procfile of `make run` (or, with --urls, the addresses it will serve)."""

from __future__ import annotations

import os
import sys

SERVICES = {"catalogue": 8001, "intake": 8002, "digitisation": 8003, "payments": 8004, "reporting": 8005}
KAFKA_PORT = os.environ.get("KAFKA_PORT", "9092")


def main() -> None:
    external_broker = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if "--urls" in sys.argv:
        print("motcua is starting (Ctrl-C stops everything):")
        for name, port in SERVICES.items():
            print(f"  {name:<13} http://127.0.0.1:{port}/docs   (ready: /readyz, metrics: /metrics)")
        print(f"  broker        {external_broker or '127.0.0.1:' + KAFKA_PORT}")
        print("  demo year     loading in the background (progress in the 'demo' lines), once")
        return
    if not external_broker:
        print(f"broker: scripts/broker.sh exec {KAFKA_PORT}")
    # Services follow the broker this Procfile starts (KAFKA_PORT) unless told of another one.
    bootstrap = external_broker or f"127.0.0.1:{KAFKA_PORT}"
    for name, port in SERVICES.items():
        print(
            f"{name}: env KAFKA_BOOTSTRAP_SERVERS={bootstrap}"
            f" .venv/bin/uvicorn services.{name}.app:create_app --factory"
            f" --host 127.0.0.1 --port {port} --no-access-log"
        )
    # The demo year loads beside the running services (minutes on SQLite), once: it skips when intake has dossiers.
    # It stays up when done, since honcho stops every process when one exits.
    print("demo: .venv/bin/python -u scripts/demo_year.py --stay")


if __name__ == "__main__":
    main()
