"""OpenID Connect bearer tokens, verified with PyJWT against the issuer's published keys.

A token is accepted when its signature verifies with a key of the issuer's JWKS, its ``iss`` is the configured
issuer, its ``aud`` holds the configured audience, and it has not expired (a small leeway absorbs clock skew between
the identity provider and us). The JWKS is cached and fetched again when a token names a key id we do not know: that
is how an issuer's key rotation reaches us without a restart. Refetches on unknown key ids are spaced out so that
tokens with invented key ids cannot make us hammer the issuer.

Roles, agency scope and display name come from claims named in settings; with Keycloak, realm roles are in
``realm_access.roles`` and the agencies in a custom claim (``motcua_agencies``) added by a mapper.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from jwt import PyJWK, PyJWKSet

from libs.common.auth import AgencyScope, Principal, Role
from libs.common.errors import DomainError, Unauthorized
from libs.common.logging import get_logger
from libs.common.settings import ServiceSettings

log = get_logger(__name__)


class IdentityProviderUnavailable(DomainError):
    status, code, title = 503, "identity_provider_unavailable", "The identity provider cannot be reached"


@dataclass(frozen=True)
class ClaimMapping:
    roles: str = "realm_access.roles"
    agencies: str = "motcua_agencies"
    name: str = "name"
    client: str = "azp"
    title: str = "title"  # optional: the officer's title in office, when the identity provider issues one


def claim(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``realm_access.roles``), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def principal_from_claims(claims: Mapping[str, Any], mapping: ClaimMapping) -> Principal:
    """Map verified claims to a principal; roles we do not know are ignored (the IdP has roles of other systems)."""
    raw_roles = claim(claims, mapping.roles) or []
    known = {r.value for r in Role}
    roles = frozenset(Role(r) for r in raw_roles if isinstance(r, str) and r in known)
    try:
        scope = AgencyScope.parse(claim(claims, mapping.agencies))
    except ValueError:
        raise Unauthorized(f"Claim {mapping.agencies!r} is neither 'province-wide' nor a list of codes") from None
    name = claim(claims, mapping.name) or claims.get("preferred_username") or ""
    client = claim(claims, mapping.client) if Role.PORTAL in roles else None
    return Principal(
        subject=str(claims["sub"]),
        roles=roles,
        scope=scope,
        display_name=str(name),
        title=str(claim(claims, mapping.title) or ""),
        client_id=str(client) if client else None,
    )


class OidcProvider:
    """The issuer's discovery document and its JWKS, each fetched once and cached."""

    def __init__(
        self,
        issuer: str,
        *,
        jwks_url: str | None = None,
        max_age_seconds: float = 3600.0,
        min_refetch_seconds: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self._jwks_url = jwks_url
        self.max_age_seconds = max_age_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self._transport = transport
        self._clock = clock
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.jwks_fetches = 0

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=5.0) as client:
                response = await client.get(url)
                response.raise_for_status()
                body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("identity provider request failed", url=url, error=str(exc))
            raise IdentityProviderUnavailable(f"Could not read {url}") from None
        if not isinstance(body, dict):
            raise IdentityProviderUnavailable(f"{url} did not answer a JSON object")
        return body

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            body = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if str(body.get("issuer", "")).rstrip("/") != self.issuer:
                raise IdentityProviderUnavailable("The discovery document names another issuer")
            self._metadata = body
        return self._metadata

    async def jwks_url(self) -> str:
        if self._jwks_url is None:
            self._jwks_url = str((await self.metadata())["jwks_uri"])
        return self._jwks_url

    async def _refresh(self) -> None:
        body = await self._get_json(await self.jwks_url())
        self.jwks_fetches += 1
        self._fetched_at = self._clock()
        try:
            keys = PyJWKSet.from_dict(body).keys
        except jwt.PyJWKSetError:
            keys = []
        self._keys = {k.key_id: k for k in keys if k.key_id and k.public_key_use in (None, "sig")}

    async def signing_key(self, kid: str) -> PyJWK:
        async with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at > self.max_age_seconds
            may_refetch = self._fetched_at is None or now - self._fetched_at >= self.min_refetch_seconds
            if stale or (kid not in self._keys and may_refetch):
                await self._refresh()
            key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("The token is signed with a key the issuer does not publish")
        return key


class OidcVerifier:
    def __init__(
        self,
        provider: OidcProvider,
        *,
        audience: str,
        algorithms: list[str],
        leeway_seconds: int = 30,
        mapping: ClaimMapping | None = None,
    ) -> None:
        self.provider = provider
        self.audience = audience
        self.algorithms = algorithms
        self.leeway_seconds = leeway_seconds
        self.mapping = mapping or ClaimMapping()

    @classmethod
    def from_settings(cls, settings: ServiceSettings, **provider_options: Any) -> OidcVerifier:
        assert settings.oidc_issuer is not None
        return cls(
            OidcProvider(settings.oidc_issuer, jwks_url=settings.oidc_jwks_url, **provider_options),
            audience=settings.oidc_audience,
            algorithms=settings.oidc_algorithms,
            leeway_seconds=settings.oidc_leeway_seconds,
            mapping=ClaimMapping(
                roles=settings.oidc_roles_claim,
                agencies=settings.oidc_agencies_claim,
                name=settings.oidc_name_claim,
                client=settings.oidc_client_claim,
            ),
        )

    @staticmethod
    def looks_like_jwt(token: str) -> bool:
        return token.count(".") == 2

    async def claims(self, token: str, *, audience: str | None = None, nonce: str | None = None) -> dict[str, Any]:
        """The verified claims of ``token``, or ``Unauthorized`` saying what is wrong with it."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("The bearer token is not a well-formed JWT") from None
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") not in self.algorithms:
            raise Unauthorized("The token has no key id or uses an algorithm that is not accepted")
        key = await self.provider.signing_key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=self.algorithms,
                audience=audience or self.audience,
                issuer=self.provider.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            # PyJWT's messages ("Signature has expired", "Audience doesn't match") tell an integrator what to fix.
            raise Unauthorized(f"Invalid token: {exc}") from None
        if nonce is not None and claims.get("nonce") != nonce:
            raise Unauthorized("Invalid token: the nonce does not match this sign-in")
        return claims

    async def principal(self, token: str) -> Principal:
        return principal_from_claims(await self.claims(token), self.mapping)
