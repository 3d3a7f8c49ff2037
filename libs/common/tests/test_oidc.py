"""OpenID Connect bearer tokens against a local identity provider: a real HTTP server publishing a JWKS."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from libs.common.app import create_service_app
from libs.common.auth import AgencyScope, CurrentPrincipal, Role
from libs.common.errors import Unauthorized
from libs.common.oidc import ClaimMapping, IdentityProviderUnavailable, OidcProvider, OidcVerifier
from libs.common.settings import ServiceSettings
from libs.common.testing import assert_problem, running_app, serving

AUDIENCE = "motcua"


@dataclass
class SigningKey:
    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    private: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return public | {"kid": self.kid, "use": "sig", "alg": "RS256"}


@dataclass
class Issuer:
    """A stand-in identity provider: discovery document and JWKS over HTTP; the test mints tokens with its keys."""

    url: str = ""
    published: list[SigningKey] = field(default_factory=list)
    jwks_requests: int = 0

    def app(self) -> Starlette:
        async def discovery(_: Request) -> JSONResponse:
            return JSONResponse({"issuer": self.url, "jwks_uri": f"{self.url}/certs"})

        async def certs(_: Request) -> JSONResponse:
            self.jwks_requests += 1
            return JSONResponse({"keys": [k.jwk() for k in self.published]})

        return Starlette(routes=[Route("/.well-known/openid-configuration", discovery), Route("/certs", certs)])

    def token(self, key: SigningKey | None = None, **overrides: Any) -> str:
        key = key or self.published[0]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": [AUDIENCE, "account"],
            "sub": "f3a1-officer",
            "iat": now,
            "exp": now + 300,
            "azp": "motcua-web",
            "name": "Nguyễn Văn An",
            "realm_access": {"roles": ["handler", "offline_access"]},
            "motcua_agencies": ["000.00.01.H01"],
        } | overrides
        return jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid})


@pytest_asyncio.fixture
async def issuer() -> AsyncIterator[Issuer]:
    idp = Issuer(published=[SigningKey()])
    async with serving(idp.app()) as url:
        idp.url = url
        yield idp


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier(idp: Issuer, clock: FakeClock | None = None) -> OidcVerifier:
    provider = OidcProvider(idp.url, clock=clock or FakeClock(), min_refetch_seconds=30)
    return OidcVerifier(provider, audience=AUDIENCE, algorithms=["RS256"], leeway_seconds=30, mapping=ClaimMapping())


@pytest.mark.asyncio
class TestVerifier:
    async def test_a_valid_token_maps_to_a_principal(self, issuer: Issuer) -> None:
        principal = await verifier(issuer).principal(issuer.token())
        assert principal.subject == "f3a1-officer" and principal.display_name == "Nguyễn Văn An"
        assert principal.roles == frozenset({Role.HANDLER})
        assert principal.scope == AgencyScope.of("000.00.01.H01") and principal.client_id is None

    async def test_a_portal_client_and_a_province_wide_scope(self, issuer: Issuer) -> None:
        token = issuer.token(realm_access={"roles": ["portal"]}, motcua_agencies="province-wide", azp="dvc-portal")
        principal = await verifier(issuer).principal(token)
        assert principal.client_id == "dvc-portal" and principal.scope.province_wide

    async def test_expired_beyond_the_leeway(self, issuer: Issuer) -> None:
        v = verifier(issuer)
        now = int(time.time())
        assert await v.claims(issuer.token(exp=now - 10))  # within the 30 s leeway
        with pytest.raises(Unauthorized, match="expired"):
            await v.claims(issuer.token(exp=now - 120))

    async def test_wrong_audience(self, issuer: Issuer) -> None:
        with pytest.raises(Unauthorized, match=r"[Aa]udience"):
            await verifier(issuer).claims(issuer.token(aud="another-system"))

    async def test_wrong_issuer(self, issuer: Issuer) -> None:
        with pytest.raises(Unauthorized, match=r"[Ii]ssuer"):
            await verifier(issuer).claims(issuer.token(iss="https://evil.example"))

    async def test_a_forged_signature(self, issuer: Issuer) -> None:
        forger = SigningKey(kid=issuer.published[0].kid)
        with pytest.raises(Unauthorized, match=r"[Ss]ignature"):
            await verifier(issuer).claims(issuer.token(forger))

    async def test_unknown_key_id_refetches_once_then_refuses(self, issuer: Issuer) -> None:
        clock = FakeClock()
        v = verifier(issuer, clock)
        await v.claims(issuer.token())
        assert issuer.jwks_requests == 1
        stranger = SigningKey()
        with pytest.raises(Unauthorized, match="key the issuer does not publish"):
            await v.claims(issuer.token(stranger))
        # The JWKS was fetched when the cache was fresh, so an unknown kid does not trigger another fetch yet.
        assert issuer.jwks_requests == 1
        clock.now += 31
        with pytest.raises(Unauthorized, match="key the issuer does not publish"):
            await v.claims(issuer.token(stranger))
        assert issuer.jwks_requests == 2

    async def test_a_rotated_key_is_fetched_when_first_seen(self, issuer: Issuer) -> None:
        clock = FakeClock()
        v = verifier(issuer, clock)
        old = issuer.published[0]
        await v.claims(issuer.token(old))
        new = SigningKey()
        issuer.published = [new]  # the issuer rotates: new key only
        clock.now += 60
        assert (await v.claims(issuer.token(new)))["sub"] == "f3a1-officer"
        assert issuer.jwks_requests == 2
        # the cached old key is gone with the refetch: tokens signed with it are refused now
        clock.now += 60
        with pytest.raises(Unauthorized):
            await v.claims(issuer.token(old))

    async def test_an_unreachable_issuer_is_503(self) -> None:
        v = OidcVerifier(OidcProvider("http://127.0.0.1:9"), audience=AUDIENCE, algorithms=["RS256"])
        token = jwt.encode({"sub": "x"}, SigningKey().private, algorithm="RS256", headers={"kid": "k"})
        with pytest.raises(IdentityProviderUnavailable):
            await v.claims(token)

    async def test_a_token_with_an_algorithm_we_do_not_accept(self, issuer: Issuer) -> None:
        token = jwt.encode({"sub": "x"}, "a-shared-secret-of-32-bytes-long!", algorithm="HS256", headers={"kid": "k"})
        with pytest.raises(Unauthorized, match="algorithm"):
            await verifier(issuer).claims(token)


@pytest.mark.asyncio
async def test_current_principal_accepts_tokens_beside_api_keys(issuer: Issuer) -> None:
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
        return principal.to_spec()

    settings = ServiceSettings(
        environment="test", database_url="sqlite+aiosqlite:///:memory:", kafka_enabled=False, oidc_issuer=issuer.url
    )
    app = create_service_app(service="t", title="t", description="t", settings=settings, routers=[router])
    async with running_app(app) as client:
        ok = await client.get("/whoami", headers={"Authorization": f"Bearer {issuer.token()}"})
        expired = await client.get("/whoami", headers={"Authorization": f"Bearer {issuer.token(exp=1)}"})
        key = await client.get("/whoami", headers={"Authorization": "Bearer dev-leader"})
    assert ok.status_code == 200 and ok.json()["agencies"] == ["000.00.01.H01"]
    assert "expired" in assert_problem(expired, 401, "unauthorized")["detail"]
    assert key.json()["roles"] == ["leader"]
