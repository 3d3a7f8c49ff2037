"""Browser sign-in: the development API-key page, the OIDC code flow with PKCE, the session cookie and CSRF."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import APIRouter, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from libs.common.app import create_service_app
from libs.common.auth import CurrentPrincipal
from libs.common.settings import ServiceSettings
from libs.common.signin import CSRF_COOKIE, SESSION_COOKIE
from libs.common.testing import assert_problem, running_app, serving
from libs.common.tests.test_oidc import Issuer, SigningKey


def make_app(**settings: Any) -> FastAPI:
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
        return principal.to_spec()

    @router.post("/things")
    async def create_thing(principal: CurrentPrincipal) -> dict[str, str]:
        return {"by": principal.subject}

    options: dict[str, Any] = {
        "environment": "test",
        "database_url": "sqlite+aiosqlite:///:memory:",
        "kafka_enabled": False,
        "session_secret": "s" * 40,
        "pseudonym_key": "p" * 40,
    } | settings
    return create_service_app(
        service="t", title="t", description="t", settings=ServiceSettings(**options), routers=[router]
    )


def hidden(html: str, name: str) -> str:
    marker = f'name="{name}" value="'
    return html.split(marker, 1)[1].split('"', 1)[0]


@pytest.mark.asyncio
class TestDevelopmentSignIn:
    async def test_sign_in_with_a_key_then_use_the_session(self) -> None:
        async with running_app(make_app()) as client:
            page = await client.get("/signin", params={"next": "/whoami"})
            assert page.status_code == 200 and "Đăng nhập" in page.text and 'lang="vi"' in page.text
            token = hidden(page.text, "csrf_token")
            assert client.cookies[CSRF_COOKIE] == token

            signed_in = await client.post(
                "/signin", data={"api_key": "dev-handler", "csrf_token": token, "next": "/whoami"}
            )
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/whoami"
            cookie = signed_in.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie

            me = await client.get("/whoami")
            assert me.status_code == 200 and me.json()["subject"] == "demo.handler"
            # a cookie-authenticated write needs the CSRF token too
            assert_problem(await client.post("/things"), 403, "csrf_rejected")
            ok = await client.post("/things", headers={"X-CSRF-Token": token})
            assert ok.status_code == 200 and ok.json() == {"by": "demo.handler"}

            out = await client.post("/signout", data={"csrf_token": token})
            assert out.status_code == 303
            assert_problem(await client.get("/whoami"), 401, "unauthorized")

    async def test_a_wrong_key_shows_the_page_again(self) -> None:
        async with running_app(make_app()) as client:
            token = hidden((await client.get("/signin")).text, "csrf_token")
            r = await client.post("/signin", data={"api_key": "dev-nobody", "csrf_token": token})
            assert r.status_code == 401 and "Khoá API không đúng" in r.text
            assert SESSION_COOKIE not in client.cookies

    async def test_a_post_without_the_csrf_token_is_refused(self) -> None:
        async with running_app(make_app()) as client:
            await client.get("/signin")
            r = await client.post("/signin", data={"api_key": "dev-ops", "csrf_token": "x" * 43})
            assert_problem(r, 403, "csrf_rejected")
            assert SESSION_COOKIE not in client.cookies

    async def test_next_never_leaves_the_host(self) -> None:
        async with running_app(make_app()) as client:
            token = hidden((await client.get("/signin")).text, "csrf_token")
            for target in ["https://evil.example/", "//evil.example/x", "/\\evil.example"]:
                r = await client.post("/signin", data={"api_key": "dev-ops", "csrf_token": token, "next": target})
                assert r.headers["location"] == "/"

    async def test_a_tampered_cookie_is_not_a_session(self) -> None:
        async with running_app(make_app()) as client:
            token = hidden((await client.get("/signin")).text, "csrf_token")
            await client.post("/signin", data={"api_key": "dev-ops", "csrf_token": token})
            value = client.cookies[SESSION_COOKIE]
            client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
            assert_problem(await client.get("/whoami"), 401, "unauthorized")

    async def test_production_offers_no_key_sign_in(self) -> None:
        app = make_app(environment="production", api_keys='{"' + "a" * 64 + '": {"subject": "s", "roles": []}}')
        async with running_app(app) as client:
            assert_problem(await client.get("/signin"), 404, "not_found")
            r = await client.post("/signin", data={"api_key": "dev-ops", "csrf_token": "x" * 43})
            assert_problem(r, 404, "not_found")


class CodeFlowIssuer(Issuer):
    """The stand-in identity provider also answers the token endpoint, checking PKCE like a real one."""

    challenges: dict[str, tuple[str, str]]

    def app(self) -> Starlette:
        base = super().app()
        self.challenges = {}

        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            code, verifier = str(form["code"]), str(form["code_verifier"])
            challenge, nonce = self.challenges.pop(code)
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != challenge or form["client_id"] != "motcua-web":
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            id_token = self.token(aud="motcua-web", nonce=nonce, motcua_agencies=["H01"], exp=int(time.time()) + 60)
            return JSONResponse({"id_token": id_token, "token_type": "Bearer"})

        async def discovery(_: Request) -> JSONResponse:
            return JSONResponse(
                {
                    "issuer": self.url,
                    "jwks_uri": f"{self.url}/certs",
                    "authorization_endpoint": f"{self.url}/auth",
                    "token_endpoint": f"{self.url}/token",
                }
            )

        base.router.routes.insert(0, Route("/.well-known/openid-configuration", discovery))
        base.router.routes.append(Route("/token", token, methods=["POST"]))
        return base


@pytest.mark.asyncio
async def test_oidc_code_flow_with_pkce() -> None:
    idp = CodeFlowIssuer(published=[SigningKey()])
    async with serving(idp.app()) as url:
        idp.url = url
        async with running_app(make_app(oidc_issuer=url)) as client:
            start = await client.get("/signin", params={"next": "/whoami", "with": "oidc"})
            assert start.status_code == 303
            location = urlsplit(start.headers["location"])
            assert f"{location.scheme}://{location.netloc}{location.path}" == f"{url}/auth"
            query = {k: v[0] for k, v in parse_qs(location.query).items()}
            assert query["code_challenge_method"] == "S256" and query["redirect_uri"].endswith("/signin/callback")
            # the user signs in at the IdP, which redirects back with a code
            idp.challenges["the-code"] = (query["code_challenge"], query["nonce"])
            forged = await client.get("/signin/callback", params={"code": "the-code", "state": "forged"})
            assert_problem(forged, 401, "unauthorized")
            back = await client.get("/signin/callback", params={"code": "the-code", "state": query["state"]})
            assert back.status_code == 303 and back.headers["location"] == "/whoami"
            me = await client.get("/whoami")
            assert me.json() == {"subject": "f3a1-officer", "roles": ["handler"], "agencies": ["H01"],
                                 "name": "Nguyễn Văn An"}  # fmt: skip
