"""Who is calling, and which agencies' records they may see: one ``CurrentPrincipal`` dependency for every route.

A caller is authenticated by one of:

- ``Authorization: Bearer <api key>``: keys are configured as SHA-256 digests in ``MOTCUA_API_KEYS`` (the service
  never holds a usable key), for integrations and scripts; the ``dev-*`` demo keys work outside production;
- ``Authorization: Bearer <OpenID Connect access token>`` when ``MOTCUA_OIDC_ISSUER`` is set (``libs.common.oidc``);
- the signed session cookie set by the browser sign-in (``libs.common.signin``), for HTML pages.

Authorisation is query scoping: a principal carries an ``AgencyScope`` and each repository filters its statements with
``principal.scope.agency_condition(<agency columns>)``, so a record outside the scope is never loaded (a 404, the same
as a missing record) rather than loaded and then refused.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sys
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import ColumnElement, false, or_, true

from libs.common.errors import Forbidden, Unauthorized
from libs.common.settings import Environment, ServiceSettings

if TYPE_CHECKING:
    from libs.common.oidc import OidcVerifier
    from libs.common.signin import SessionCodec


class Role(StrEnum):
    DESK_OFFICER = "desk_officer"  # one-stop desk: receives and returns dossiers
    HANDLER = "handler"  # specialist who processes dossiers
    LEADER = "leader"  # head of agency: reports, plans
    OPS = "ops"  # operations: imports, rebuilds, catalogue maintenance
    PORTAL = "portal"  # the public-service portal and other integrations


PROVINCE_WIDE = "province-wide"


@dataclass(frozen=True)
class AgencyScope:
    """The agencies whose records a principal may read and change: some agency codes, or the whole province.

    An empty scope sees no agency's records: a key or token that names no agency is not silently province-wide.
    """

    agencies: frozenset[str] = frozenset()
    province_wide: bool = False

    @classmethod
    def province(cls) -> AgencyScope:
        return cls(province_wide=True)

    @classmethod
    def of(cls, *codes: str) -> AgencyScope:
        return cls(agencies=frozenset(codes))

    @classmethod
    def parse(cls, value: object) -> AgencyScope:
        """``"province-wide"``, one agency code, or a list of codes (a list holding ``"province-wide"`` too)."""
        if value is None:
            return cls()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple | set | frozenset) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"an agency scope is {PROVINCE_WIDE!r} or a list of agency codes, not {value!r}")
        codes = {v.strip() for v in value if v.strip()}
        if PROVINCE_WIDE in codes:
            return cls.province()
        return cls(agencies=frozenset(codes))

    def covers(self, *agency_codes: str | None) -> bool:
        """Whether a record held by any of these agencies (e.g. receiving and handling) is within the scope."""
        return self.province_wide or any(code in self.agencies for code in agency_codes if code is not None)

    def agency_condition(self, *columns: Any) -> ColumnElement[bool]:
        """A WHERE clause: the row belongs to one of the scope's agencies through any of ``columns``.

        ``true()`` for the whole province, ``false()`` for an empty scope; otherwise ``col IN (…)`` OR-ed over the
        columns (a dossier received by one agency and handled by another is "own" to both).
        """
        if self.province_wide:
            return true()
        if not self.agencies or not columns:
            return false()
        codes = sorted(self.agencies)
        return or_(*(column.in_(codes) for column in columns))

    def dossier_condition(self, dossier_code: Any) -> ColumnElement[bool]:
        """A WHERE clause for services that hold a dossier code but not its agencies (digitisation, payments): the
        dossier was received by one of the scope's agencies, read from the code ``<receiving agency>-YYMMDD-XXXX``
        (docs/domain.md, "Identifiers"). Rows with no dossier code match only a province-wide scope."""
        if self.province_wide:
            return true()
        if not self.agencies:
            return false()
        return or_(*(dossier_code.startswith(f"{code}-", autoescape=True) for code in sorted(self.agencies)))

    def covers_dossier(self, dossier_code: str) -> bool:
        return self.province_wide or any(dossier_code.startswith(f"{code}-") for code in self.agencies)

    def describe(self) -> str | list[str]:
        return PROVINCE_WIDE if self.province_wide else sorted(self.agencies)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a person (officer) or an integration (the portal, a script)."""

    subject: str
    roles: frozenset[Role]
    scope: AgencyScope = field(default_factory=AgencyScope)
    # The officer's real name, printed on the forms they sign (receipts, hand-over notes).
    display_name: str = ""
    # The officer's title in office (e.g. "Chuyên viên"), when the account carries one.
    title: str = ""
    # For portal clients: the client that submitted a dossier is the only one that may act on it later.
    client_id: str | None = None

    def has_any(self, roles: Iterable[Role]) -> bool:
        return bool(self.roles & frozenset(roles))

    @property
    def name(self) -> str:
        return self.display_name or self.subject

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Principal:
        """Build from the JSON of one ``MOTCUA_API_KEYS`` entry (or a session cookie)."""
        subject = spec.get("subject")
        if not isinstance(subject, str) or not subject.strip():
            raise ValueError("every principal needs a non-empty 'subject'")
        roles = frozenset(Role(r) for r in spec.get("roles", []))
        # "agency_code" is the format before scopes had several agencies: one code, read as a scope of one.
        scope = AgencyScope.parse(spec.get("agencies", spec.get("agency_code")))
        client_id = spec.get("client_id") or (subject if Role.PORTAL in roles else None)
        return cls(
            subject=subject,
            roles=roles,
            scope=scope,
            display_name=str(spec.get("name") or ""),
            title=str(spec.get("title") or ""),
            client_id=str(client_id) if client_id is not None else None,
        )

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "subject": self.subject,
            "roles": sorted(self.roles),
            "agencies": self.scope.describe(),
            "name": self.display_name,
        }
        if self.title:
            spec["title"] = self.title
        if self.client_id is not None:
            spec["client_id"] = self.client_id
        return spec


# --- API keys -----------------------------------------------------------------------------------------------------

MIN_API_KEY_LENGTH = 32
_DIGEST = re.compile(r"^[0-9a-f]{64}$")

DEMO_KEYS: dict[str, dict[str, Any]] = {
    "dev-desk": {
        "subject": "demo.desk",
        "name": "Nguyễn Thị Mai",
        "title": "Công chức Bộ phận Một cửa",
        "roles": [Role.DESK_OFFICER],
    },
    "dev-handler": {
        "subject": "demo.handler",
        "name": "Trần Văn Hùng",
        "title": "Chuyên viên",
        "roles": [Role.HANDLER],
    },
    "dev-leader": {"subject": "demo.leader", "name": "Lê Văn Nam", "roles": [Role.LEADER]},
    "dev-ops": {"subject": "demo.ops", "name": "Phạm Thị Lan", "roles": [Role.OPS]},
    "dev-portal": {"subject": "demo.portal", "roles": [Role.PORTAL]},
    "dev-admin": {"subject": "demo.admin", "name": "Quản trị", "roles": list(Role)},
}
# The demo keys act for the whole province, so the demo data and the tests see everything they create.
for _spec in DEMO_KEYS.values():
    _spec["agencies"] = PROVINCE_WIDE


def hash_api_key(key: str) -> str:
    """What ``MOTCUA_API_KEYS`` holds for a key: its SHA-256 digest in lowercase hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    """A key of 43 URL-safe characters (256 random bits)."""
    return secrets.token_urlsafe(32)


# Keys that must never open a production deployment even if someone hashed them into the table.
_WEAK_DIGESTS = frozenset(hash_api_key(k) for k in [*DEMO_KEYS, "", "change-me", "changeme", "secret", "token"])


def parse_api_keys(raw: str, *, production: bool) -> dict[str, Principal]:
    """Read ``MOTCUA_API_KEYS`` (digest → principal spec) and refuse what must not run; raises ``ValueError``."""
    try:
        table = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"MOTCUA_API_KEYS is not JSON: {exc}") from None
    if not isinstance(table, dict):
        raise ValueError("MOTCUA_API_KEYS must be a JSON object: SHA-256 hex digest of a key → principal")
    keys: dict[str, Principal] = {}
    for digest, spec in table.items():
        if not _DIGEST.match(digest):
            raise ValueError(
                "MOTCUA_API_KEYS maps SHA-256 hex digests of keys (64 lowercase hex characters), not the keys "
                "themselves; make one with `python -m libs.common.auth new-key`"
            )
        if production and digest in _WEAK_DIGESTS:
            raise ValueError("MOTCUA_API_KEYS holds a demo or placeholder key, which production refuses")
        if not isinstance(spec, dict):
            raise ValueError(f"MOTCUA_API_KEYS entry {digest[:8]}… must be an object")
        try:
            keys[digest] = Principal.from_spec(spec)
        except ValueError as exc:
            raise ValueError(f"MOTCUA_API_KEYS entry {digest[:8]}…: {exc}") from None
    return keys


def key_table(settings: ServiceSettings) -> dict[str, Principal]:
    """Digest → principal: the configured keys, plus the demo keys outside production."""
    production = settings.environment is Environment.PRODUCTION
    table = {} if production else {hash_api_key(k): Principal.from_spec(s) for k, s in DEMO_KEYS.items()}
    table.update(parse_api_keys(settings.api_keys, production=production))
    return table


class Authenticator:
    """Turns presented credentials into a ``Principal``; built once per app in the lifespan."""

    def __init__(
        self,
        keys: Mapping[str, Principal],
        *,
        production: bool,
        oidc: OidcVerifier | None = None,
        sessions: SessionCodec | None = None,
    ) -> None:
        self.keys = dict(keys)
        self.production = production
        self.oidc = oidc
        self.sessions = sessions

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Authenticator:
        from libs.common.oidc import OidcVerifier
        from libs.common.signin import SessionCodec

        return cls(
            key_table(settings),
            production=settings.environment is Environment.PRODUCTION,
            oidc=OidcVerifier.from_settings(settings) if settings.oidc_issuer else None,
            sessions=SessionCodec.from_settings(settings),
        )

    def by_api_key(self, key: str) -> Principal | None:
        # In production a short key can never be valid, whatever the table says (it could be guessed).
        if self.production and len(key) < MIN_API_KEY_LENGTH:
            return None
        return self.keys.get(hash_api_key(key))

    async def by_bearer(self, token: str) -> Principal:
        if self.oidc is not None and self.oidc.looks_like_jwt(token):
            return await self.oidc.principal(token)
        principal = self.by_api_key(token)
        if principal is None:
            raise Unauthorized("Unknown API key")
        return principal


def authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.authenticator
    return auth


_bearer = HTTPBearer(auto_error=False, description="An API key, or an OpenID Connect access token")
_session_cookie = APIKeyCookie(
    name="motcua_session", auto_error=False, description="Browser session set by /signin (HTML pages)"
)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: Annotated[str | None, Depends(_session_cookie)],
) -> Principal:
    """The authenticated caller, or 401. Runs before anything of the route is looked up (declare it first)."""
    auth = authenticator(request)
    if credentials is not None:
        return await auth.by_bearer(credentials.credentials)
    if session is not None and auth.sessions is not None:
        principal = auth.sessions.principal(session, auth)
        if principal is not None:
            from libs.common.signin import check_csrf

            await check_csrf(request)
            return principal
    raise Unauthorized("Send 'Authorization: Bearer <api key or access token>', or sign in at /signin")


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency: the caller must hold one of ``roles``."""
    wanted = frozenset(roles)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(wanted):
            raise Forbidden(f"Requires one of the roles: {', '.join(sorted(wanted))}")
        return principal

    return dependency


def _main(argv: list[str]) -> int:
    """``python -m libs.common.auth new-key [subject] [role …]``: a fresh key and its ``MOTCUA_API_KEYS`` entry."""
    if not argv or argv[0] != "new-key":
        print("usage: python -m libs.common.auth new-key [subject] [role ...]", file=sys.stderr)
        return 2
    subject = argv[1] if len(argv) > 1 else "integration"
    roles = [Role(r).value for r in argv[2:]] or [Role.PORTAL.value]
    key = new_api_key()
    entry = {hash_api_key(key): {"subject": subject, "name": "", "roles": roles, "agencies": []}}
    print(f"key (give it to the caller, store it nowhere else): {key}")
    print(f"MOTCUA_API_KEYS entry (set 'agencies'): {json.dumps(entry, ensure_ascii=False)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
