"""Print docs/access.json as the Markdown table published in docs/security.md (``python scripts/access_table.py``).

tests/test_access_matrix.py checks that the published table is this rendering of the current file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ACCESS = Path(__file__).parents[1] / "docs" / "access.json"
# routes every service has from the shared factory: one line for all
COMMON = {"GET /docs", "GET /redoc", "GET /healthz", "GET /readyz", "GET /metrics", "GET /signin", "POST /signin",
          "GET /signin/callback", "POST /signout"}  # fmt: skip


def _roles(entry: dict[str, Any]) -> str:
    roles = entry["roles"]
    return roles if isinstance(roles, str) else ", ".join(roles)


def render(table: dict[str, Any]) -> str:
    lines = ["| service | route | roles | scoped | note |", "|---|---|---|---|---|"]
    lines.append("| every service | " + ", ".join(f"`{r}`" for r in sorted(COMMON)) + " | public | no | sign-out "
                 "needs the CSRF token |")  # fmt: skip
    for service, routes in table.items():
        if service.startswith("_"):
            continue
        for route, entry in routes.items():
            if route in COMMON:
                continue
            scoped = "yes" if entry["scoped"] else "no"
            note = entry.get("note", "")
            lines.append(f"| {service} | `{route}` | {_roles(entry)} | {scoped} | {note} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    sys.stdout.write(render(json.loads(ACCESS.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
