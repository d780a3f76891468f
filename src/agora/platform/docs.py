"""API documentation pages (Swagger UI and ReDoc) served from packaged assets, no CDN.

The JavaScript and CSS come from the fastapi-offline package; Swagger UI is started by a script
file rather than an inline script, so the pages run under a strict Content-Security-Policy.
"""

import html
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles

VENDOR_DIR = Path(fastapi_offline.__file__).parent / "static"
INIT_SCRIPT = Path(__file__).parent / "static" / "swagger-init.js"
ASSETS = "/docs/assets"

DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
ASSET_CACHE = "public, max-age=86400"


class _Assets(StaticFiles):
    """Static files that caches may keep for a day."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["Cache-Control"] = ASSET_CACHE
        return response


def _page(title: str, head: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<link rel="icon" href="{ASSETS}/favicon.png">\n{head}</head>\n'
        f"<body>\n{body}</body>\n</html>\n",
        headers={
            "Content-Security-Policy": DOCS_CSP,
            "Cache-Control": "no-cache",
            "Cross-Origin-Opener-Policy": "same-origin",
        },
    )


def install_docs(app: FastAPI, openapi_url: str) -> None:
    """Add `/docs`, `/redoc` and their assets to `app`."""
    title = html.escape(app.title)
    spec = html.escape(openapi_url, quote=True)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _page(
            f"{title} - Swagger UI",
            f'<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">\n',
            f'<div id="swagger-ui" data-openapi-url="{spec}"></div>\n'
            f'<script src="{ASSETS}/swagger-ui-bundle.js"></script>\n'
            '<script src="/docs/swagger-init.js"></script>\n',
        )

    @app.get("/docs/swagger-init.js", include_in_schema=False)
    async def swagger_init() -> FileResponse:
        return FileResponse(
            INIT_SCRIPT, media_type="text/javascript", headers={"Cache-Control": ASSET_CACHE}
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _page(
            f"{title} - ReDoc",
            "",
            f'<redoc spec-url="{spec}"></redoc>\n'
            f'<script src="{ASSETS}/redoc.standalone.js"></script>\n',
        )

    app.mount(ASSETS, _Assets(directory=VENDOR_DIR), name="docs-assets")
