"""Who is calling: one ``CurrentPrincipal`` dependency that every mutating route goes through.

Callers present ``Authorization: Bearer <api key>``; keys map to a principal (subject, roles, agency) in
``MOTCUA_API_KEYS``. A province that runs an identity provider puts a gateway in front that exchanges its tokens for
these keys; the routes only ever see a ``Principal``. In development the demo keys below are accepted too.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from libs.common.errors import Forbidden, Unauthorized
from libs.common.settings import Environment, ServiceSettings


class Role(StrEnum):
    DESK_OFFICER = "desk_officer"  # one-stop desk: receives and returns dossiers
    HANDLER = "handler"  # specialist who processes dossiers
    LEADER = "leader"  # head of agency: reports, plans
    OPS = "ops"  # operations: imports, rebuilds, catalogue maintenance
    PORTAL = "portal"  # the public-service portal and other integrations


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    agency_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def has_any(self, roles: frozenset[Role]) -> bool:
        return bool(self.roles & roles)


DEMO_KEYS: dict[str, dict[str, Any]] = {
    "dev-desk": {"subject": "demo.desk", "roles": [Role.DESK_OFFICER], "agency_code": None},
    "dev-handler": {"subject": "demo.handler", "roles": [Role.HANDLER], "agency_code": None},
    "dev-leader": {"subject": "demo.leader", "roles": [Role.LEADER]},
    "dev-ops": {"subject": "demo.ops", "roles": [Role.OPS]},
    "dev-portal": {"subject": "demo.portal", "roles": [Role.PORTAL]},
    "dev-admin": {"subject": "demo.admin", "roles": list(Role)},
}


def key_table(settings: ServiceSettings) -> dict[str, Principal]:
    raw = dict(DEMO_KEYS) if settings.environment is not Environment.PRODUCTION else {}
    raw.update(settings.api_key_table())
    return {
        key: Principal(
            subject=str(spec["subject"]),
            roles=frozenset(Role(r) for r in spec.get("roles", [])),
            agency_code=spec.get("agency_code"),
        )
        for key, spec in raw.items()
    }


_bearer = HTTPBearer(auto_error=False, description="API key issued to a person or an integration")


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise Unauthorized("Send 'Authorization: Bearer <api key>'")
    principal = request.app.state.api_keys.get(credentials.credentials)
    if principal is None:
        raise Unauthorized("Unknown API key")
    assert isinstance(principal, Principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency: the caller must hold one of ``roles``."""
    wanted = frozenset(roles)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(wanted):
            raise Forbidden(f"Requires one of the roles: {', '.join(sorted(wanted))}")
        return principal

    return dependency
