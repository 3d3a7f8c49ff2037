"""Swagger UI (``/docs``) and ReDoc (``/redoc``) from installed files: nothing is fetched from outside at run time.

FastAPI's default pages load their scripts from a CDN and Google Fonts. The ``fastapi-offline`` package ships the
same assets (Swagger UI 5, which renders OpenAPI 3.1, and ReDoc 2's standalone bundle); they are mounted under
``/docs-assets`` and the pages point there. Swagger UI's validator badge is switched off: it would call
validator.swagger.io with the API's URL.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs-assets"
ASSETS_PACKAGE = ("fastapi_offline", "static")


def install_api_docs(app: FastAPI) -> None:
    """Add ``/docs`` and ``/redoc``; the app must be built with ``docs_url=None, redoc_url=None``."""
    app.mount(ASSETS_PATH, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-assets")

    def urls(request: Request) -> tuple[str, str]:
        # Same-origin and relative to the mount point, so a reverse proxy's prefix (root_path) is kept.
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return f"{root}{app.openapi_url}", f"{root}{ASSETS_PATH}"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        openapi, assets = urls(request)
        return get_swagger_ui_html(
            openapi_url=openapi,
            title=f"{app.title} — Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
            oauth2_redirect_url=None,
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        openapi, assets = urls(request)
        return get_redoc_html(
            openapi_url=openapi,
            title=f"{app.title} — ReDoc",
            redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,
        )
