"""Load the demo data once (idempotent): the sample catalogue and the seed plans.

Each loader writes to its own service's database and outbox; the running services' relays then publish the
events, so intake's replica and reporting fill themselves through the broker like in production.
"""

from __future__ import annotations

import subprocess
import sys

LOADERS = [
    ("sample catalogue (procedures and agencies)", ["-m", "services.catalogue.demo"]),
    ("seed plans", ["-m", "services.reporting.plans", "load-seeds"]),
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
