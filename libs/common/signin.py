"""Browser sign-in for the HTML pages: a signed session cookie, CSRF protection, and the ``/signin`` routes.

- With ``MOTCUA_OIDC_ISSUER`` set, ``GET /signin`` starts an OpenID Connect authorization-code flow with PKCE
  (hand-rolled on httpx: two requests, and the ID token is verified by ``libs.common.oidc`` like any bearer token).
- Outside production, ``GET /signin`` also shows a page where a developer signs in with an API key (``dev-desk`` …).
- The session cookie is signed with ``MOTCUA_SESSION_SECRET`` (itsdangerous), HttpOnly, SameSite=Lax, and Secure in
  production. For an API-key sign-in it holds only the key's digest, so removing the key ends the session.
- A cookie is sent by the browser with any request, including one a hostile page makes it send: every form that posts
  carries a CSRF token equal to the ``motcua_csrf`` cookie (double submit), and ``CurrentPrincipal`` refuses a
  cookie-authenticated POST/PUT/PATCH/DELETE without it (header ``X-CSRF-Token`` or form field ``csrf_token``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment

from libs.common.errors import Forbidden, NotFound, Unauthorized
from libs.common.settings import Environment as Env
from libs.common.settings import ServiceSettings

if TYPE_CHECKING:
    from libs.common.auth import Authenticator, Principal

SESSION_COOKIE = "motcua_session"
CSRF_COOKIE = "motcua_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
FLOW_COOKIE = "motcua_signin"
FLOW_MAX_AGE = 600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SessionCodec:
    """Signs and reads the session cookie; ``secure`` sets the cookie's Secure flag (production)."""

    def __init__(self, secret: str, *, max_age_seconds: int, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="motcua.session")
        self._flow = URLSafeTimedSerializer(secret, salt="motcua.signin-flow")
        self.max_age_seconds = max_age_seconds
        self.secure = secure

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> SessionCodec:
        return cls(
            settings.session_secret,
            max_age_seconds=settings.session_max_age_seconds,
            secure=settings.environment is Env.PRODUCTION,
        )

    def encode(self, content: dict[str, Any]) -> str:
        return self._serializer.dumps(content)

    def principal(self, cookie: str, auth: Authenticator) -> Principal | None:
        from libs.common.auth import Principal

        try:
            content = self._serializer.loads(cookie, max_age=self.max_age_seconds)
        except BadSignature:
            return None
        if not isinstance(content, dict):
            return None
        if "k" in content:
            return auth.keys.get(str(content["k"]))
        if "p" in content and isinstance(content["p"], dict):
            return Principal.from_spec(content["p"])
        return None

    def set_session(self, response: Response, content: dict[str, Any]) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self.encode(content),
            max_age=self.max_age_seconds,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    def set_flow(self, response: Response, flow: dict[str, str]) -> None:
        response.set_cookie(
            FLOW_COOKIE, self._flow.dumps(flow), max_age=FLOW_MAX_AGE, httponly=True, samesite="lax",
            secure=self.secure, path="/signin",
        )  # fmt: skip

    def read_flow(self, cookie: str | None) -> dict[str, str] | None:
        if cookie is None:
            return None
        try:
            flow = self._flow.loads(cookie, max_age=FLOW_MAX_AGE)
        except BadSignature:
            return None
        return flow if isinstance(flow, dict) else None


# --- CSRF (double submit) -----------------------------------------------------------------------------------------


class CsrfRejected(Forbidden):
    code, title = "csrf_rejected", "Missing or wrong CSRF token"


def csrf_token_for(request: Request) -> str:
    """The caller's CSRF token (from its cookie), or a new one; put it in every form that posts."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing
    return secrets.token_urlsafe(32)


def set_csrf_cookie(response: Response, token: str, *, secure: bool) -> None:
    # Not HttpOnly: a script of our own pages may need to copy it into the X-CSRF-Token header.
    response.set_cookie(CSRF_COOKIE, token, httponly=False, samesite="lax", secure=secure, path="/")


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request whose CSRF token (header or form field) does not equal the cookie's."""
    if request.method in SAFE_METHODS:
        return
    expected = request.cookies.get(CSRF_COOKIE)
    presented = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if presented is None and content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        field = (await request.form()).get(CSRF_FIELD)
        presented = field if isinstance(field, str) else None
    if not expected or not presented or not hmac.compare_digest(expected, presented):
        raise CsrfRejected("Missing or wrong CSRF token: reload the page and send the form again")


# --- The /signin routes -------------------------------------------------------------------------------------------

_PAGE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Đăng nhập — Một cửa</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/static/common/favicon.svg" type="image/svg+xml">
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;margin:.4rem 0}input,button{padding:.5rem;font-size:1rem}
.error{color:#a00}.note{color:#555;font-size:.9rem}</style></head>
<body><h1>Đăng nhập</h1>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
{% if oidc %}<p><a href="/signin?{{ oidc_query }}">Đăng nhập bằng tài khoản định danh của tỉnh</a></p>{% endif %}
{% if keys %}<form method="post" action="/signin">
<input type="hidden" name="csrf_token" value="{{ csrf }}"><input type="hidden" name="next" value="{{ next }}">
<label for="api_key">Khoá API</label>
<input id="api_key" name="api_key" type="password" autocomplete="off" required>
<button type="submit">Đăng nhập</button></form>
<p class="note">Chỉ dùng khi phát triển: thử <code>dev-desk</code>, <code>dev-handler</code>, <code>dev-leader</code>,
<code>dev-ops</code>.</p>{% endif %}
</body></html>"""
)


def _safe_next(target: str | None) -> str:
    # Only a path on this host: an absolute or scheme-relative URL would make /signin an open redirect.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def signin_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def auth_of(request: Request) -> Authenticator:
        from libs.common.auth import authenticator

        return authenticator(request)

    def page(request: Request, *, next_: str, error: str | None = None, status: int = 200) -> HTMLResponse:
        auth = auth_of(request)
        assert auth.sessions is not None
        token = csrf_token_for(request)
        body = _PAGE.render(
            csrf=token,
            next=next_,
            error=error,
            keys=not auth.production,
            oidc=auth.oidc is not None,
            oidc_query=urlencode({"next": next_, "with": "oidc"}),
        )
        response = HTMLResponse(body, status_code=status)
        set_csrf_cookie(response, token, secure=auth.sessions.secure)
        return response

    @router.get("/signin", name="signin")
    async def signin(request: Request, next: str | None = None) -> Response:
        auth = auth_of(request)
        next_ = _safe_next(next)
        if auth.oidc is not None and (auth.production or request.query_params.get("with") == "oidc"):
            return await _start_oidc(request, auth, next_)
        if auth.production:
            raise NotFound("Sign-in needs an identity provider (MOTCUA_OIDC_ISSUER) in production")
        return page(request, next_=next_)

    @router.post("/signin", name="signin_with_key")
    async def signin_with_key(
        request: Request,
        api_key: Annotated[str, Form(max_length=200)],
        csrf_token: Annotated[str, Form(max_length=200)],
        next: Annotated[str, Form(max_length=2000)] = "/",
    ) -> Response:
        auth = auth_of(request)
        if auth.production or auth.sessions is None:
            raise NotFound("Signing in with an API key is for development only")
        await check_csrf(request)
        from libs.common.auth import hash_api_key

        if auth.by_api_key(api_key) is None:
            return page(request, next_=_safe_next(next), error="Khoá API không đúng.", status=401)
        response = RedirectResponse(_safe_next(next), status_code=303)
        auth.sessions.set_session(response, {"k": hash_api_key(api_key)})
        return response

    @router.get("/signin/callback", name="signin_callback")
    async def signin_callback(request: Request, code: str | None = None, state: str | None = None) -> Response:
        auth = auth_of(request)
        if auth.oidc is None or auth.sessions is None:
            raise NotFound("No identity provider is configured")
        flow = auth.sessions.read_flow(request.cookies.get(FLOW_COOKIE))
        if flow is None or not state or not code or not hmac.compare_digest(flow.get("state", ""), state):
            raise Unauthorized("The sign-in expired or did not start here: sign in again")
        settings: ServiceSettings = request.app.state.runtime.settings
        metadata = await auth.oidc.provider.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": str(request.url_for("signin_callback")),
            "client_id": settings.oidc_client_id,
            "code_verifier": flow["verifier"],
        }
        if settings.oidc_client_secret:
            form["client_secret"] = settings.oidc_client_secret
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                answer = await client.post(str(metadata["token_endpoint"]), data=form)
        except httpx.HTTPError:
            raise Unauthorized("The identity provider could not be reached to finish the sign-in") from None
        id_token = answer.json().get("id_token") if answer.status_code == 200 else None
        if not isinstance(id_token, str):
            raise Unauthorized("The identity provider refused the sign-in")
        claims = await auth.oidc.claims(id_token, audience=settings.oidc_client_id, nonce=flow["nonce"])
        from libs.common.oidc import principal_from_claims

        principal = principal_from_claims(claims, auth.oidc.mapping)
        response = RedirectResponse(_safe_next(flow.get("next")), status_code=303)
        auth.sessions.set_session(response, {"p": principal.to_spec(), "at": int(time.time())})
        response.delete_cookie(FLOW_COOKIE, path="/signin")
        return response

    @router.post("/signout", name="signout")
    async def signout(request: Request) -> Response:
        await check_csrf(request)
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router


async def _start_oidc(request: Request, auth: Authenticator, next_: str) -> Response:
    assert auth.oidc is not None and auth.sessions is not None
    settings: ServiceSettings = request.app.state.runtime.settings
    metadata = await auth.oidc.provider.metadata()
    verifier, challenge = _pkce_pair()
    flow = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24), "verifier": verifier, "next": next_}
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": str(request.url_for("signin_callback")),
            "scope": "openid profile",
            "state": flow["state"],
            "nonce": flow["nonce"],
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(f"{metadata['authorization_endpoint']}?{query}", status_code=303)
    auth.sessions.set_flow(response, flow)
    return response
