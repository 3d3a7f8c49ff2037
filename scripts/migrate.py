"""Migrate services' databases to a revision: ``python scripts/migrate.py all`` or ``… intake head``."""

from __future__ import annotations

import argparse
import importlib

from libs.common.migrate import SERVICES, upgrade


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", choices=[*SERVICES, "all"])
    parser.add_argument("revision", nargs="?", default="head")
    args = parser.parse_args()
    for service in SERVICES if args.service == "all" else (args.service,):
        settings = importlib.import_module(f"services.{service}.config").get_settings()
        upgrade(service, settings.database_url, args.revision)
        print(f"{service}: migrated to {args.revision}")


if __name__ == "__main__":
    main()
