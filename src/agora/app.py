"""`create_app(settings)`: wires middleware, routers, state and lifespan; nothing else."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic.alias_generators import to_camel

from agora import __version__
from agora.platform import health
from agora.platform.db import Database
from agora.platform.docs import install_docs
from agora.platform.errors import install_error_handlers
from agora.platform.health import Readiness
from agora.platform.http.stack import middleware_stack
from agora.platform.observability import configure_logging, get_logger
from agora.platform.pagination import CursorCodec
from agora.platform.secrets import load_or_create_secret
from agora.settings import Settings

API_V1 = "/api/v1"
OPENAPI_URL = "/openapi.json"

DESCRIPTION = """
A commerce API: users, products, inventory, orders, payments, webhooks and AI.

Every response is an envelope: `{"success": true, "data": ..., "meta": ...}` on success and
`{"success": false, "message", "statusCode", "errors", "traceId"}` on error, where `traceId`
equals the `X-Request-ID` header.
"""


def _secret(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    return load_or_create_secret(settings.data_dir / "secret.key")


def operation_id(route: APIRoute) -> str:
    """OpenAPI operation ids from route function names: `list_products` -> `listProducts`."""
    return to_camel(route.name)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build one Agora application instance from `settings` (default: the environment)."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)
    log = get_logger("agora.app")
    database = Database(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        log.info("started", env=settings.env, database=database.engine.dialect.name)
        try:
            yield
        finally:
            await database.dispose()
            log.info("stopped")

    app = FastAPI(
        title="Agora",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=OPENAPI_URL if settings.docs_enabled else None,
        docs_url=None,
        redoc_url=None,
        middleware=middleware_stack(settings),
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.cursor_codec = CursorCodec(_secret(settings))
    app.state.readiness = Readiness(settings.ready_timeout, settings.retry_after_seconds)
    app.state.readiness.add("database", database.ping)

    install_error_handlers(app)
    app.include_router(health.router)
    if settings.docs_enabled:
        install_docs(app, OPENAPI_URL)
    return app
