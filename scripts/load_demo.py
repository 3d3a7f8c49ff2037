"""Load the demo data once (idempotent): the sample catalogue, the seed plans and the sample province's plan.

Each loader writes to its own service's database and outbox; the running services' relays then publish the
events, so intake's replica and reporting fill themselves through the broker like in production. The year of
dossiers (scripts/demo_year.py) takes minutes: ``make run`` loads it in the background, as a Procfile process.
"""

from __future__ import annotations

import subprocess
import sys

LOADERS = [
    ("sample catalogue (procedures and agencies)", ["-m", "services.catalogue.demo"]),
    ("seed plans", ["-m", "services.reporting.plans", "load-seeds"]),
    (
        "the sample province's plan (Tỉnh Mẫu, built from the seed plans' targets)",
        ["-m", "services.reporting.plans", "load", "services/reporting/plans/sample/tinh-mau-2026-2030-sample.json"],
    ),
]


def main() -> int:
    for what, args in LOADERS:
        print(f"loading {what}...")
        result = subprocess.run([sys.executable, *args], check=False)
        if result.returncode != 0:
            print(f"failed to load {what}", file=sys.stderr)
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
