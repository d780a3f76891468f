"""`create_app(settings)`: wires middleware, routers, state and lifespan; nothing else."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic.alias_generators import to_camel
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from agora import __version__
from agora.catalog.module import CatalogModule
from agora.events.module import EventsModule
from agora.identity.module import IdentityModule
from agora.jobs.module import JobsModule
from agora.ordering.module import OrderingModule
from agora.payments.module import PaymentsModule
from agora.platform import health, openapi
from agora.platform.background import Background
from agora.platform.clock import Clock
from agora.platform.docs import install_docs
from agora.platform.errors import install_error_handlers
from agora.platform.health import Readiness
from agora.platform.http.stack import middleware_stack
from agora.platform.idempotency import IdempotencyStore
from agora.platform.jobs import Scheduler
from agora.platform.observability import configure_logging, flush_access_log, get_logger
from agora.platform.outbox import Relay
from agora.platform.runtime import Runtime
from agora.settings import Settings
from agora.webhooks.module import WebhooksModule

OPENAPI_URL = "/openapi.json"

DESCRIPTION = """
A commerce API: users, products, categories, inventory, orders, payments, their events,
signed webhooks, and background jobs (product imports, sales reports).

Every response is an envelope: `{"success": true, "data": ..., "meta": ...}` on success and
`{"success": false, "message", "statusCode", "errors", "traceId"}` on error, where `traceId`
equals the `X-Request-ID` header.

Authenticate with `Authorization: Bearer <accessToken>` (from `POST /api/v1/auth/login`) or,
server to server, with `X-API-Key` (Authorize, above, takes either). Writes that may be retried
take an `Idempotency-Key`; reads answer with an `ETag` for `If-None-Match`, and updates take
`If-Match`.
"""

TAGS = [
    {"name": "products", "description": "The catalog: v1 (`priceCents`) and v2 (`price`)."},
    {"name": "categories", "description": "Product categories."},
    {"name": "inventory", "description": "Stock levels; orders take stock atomically."},
    {"name": "images", "description": "Product images and signed upload URLs."},
    {"name": "auth", "description": "Sign-in, rotating refresh tokens, the public keys."},
    {"name": "users", "description": "Accounts and roles."},
    {"name": "api keys", "description": "Keys for server-to-server calls, with scopes."},
    {"name": "orders", "description": "Orders at catalog prices; never oversold."},
    {"name": "payments", "description": "Payments and refunds, never charged twice."},
    {"name": "events", "description": "What happened (the event log) and the outbox's lag."},
    {
        "name": "webhooks",
        "description": "Events sent to your URLs, signed as Standard Webhooks says, retried.",
    },
    {"name": "reports", "description": "Sales reports, written by background jobs."},
    {"name": "jobs", "description": "Background jobs: status, progress, result downloads."},
    {"name": "operations", "description": "Liveness and readiness probes."},
]
"""The operations' tags, in the order Swagger UI and ReDoc list them."""


class AgoraApp(FastAPI):
    """FastAPI with Agora's middleware outside FastAPI's own layers.

    FastAPI puts user middleware inside its error and telemetry layers; Agora's layers go
    around them instead, so that a request answered early (a cached response, a 429) never
    pays for layers it does not use. Unhandled errors still become the envelope: FastAPI's
    error layer renders them with Agora's handler.
    """

    def __init__(self, *args: Any, outer_middleware: list[Middleware], **kwargs: Any) -> None:
        self.outer_middleware = outer_middleware
        super().__init__(*args, **kwargs)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = openapi.complete(self, super().openapi())
        return self.openapi_schema

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()
        for middleware in reversed(self.outer_middleware):
            app = middleware.cls(app, *middleware.args, **middleware.kwargs)
        return app


def operation_id(route: APIRoute) -> str:
    """OpenAPI operation ids from route function names: `list_products` -> `listProducts`."""
    return to_camel(route.name)


def idempotency_store(runtime: Runtime) -> IdempotencyStore:
    settings = runtime.settings
    return IdempotencyStore(
        runtime.database,
        runtime.clock,
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        lock_timeout=timedelta(seconds=settings.idempotency_lock_seconds),
    )


def build_scheduler(
    runtime: Runtime, ordering: OrderingModule, payments: PaymentsModule
) -> Scheduler:
    """The periodic jobs of an instance (run here, or by `agora worker`)."""
    scheduler = Scheduler()
    ordering.schedule(scheduler)
    payments.schedule(scheduler)
    scheduler.every(3600, "purge_idempotency_keys", idempotency_store(runtime).purge_expired)
    return scheduler


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build one Agora application instance from `settings` (default: the environment).

    `clock` is the instance's time (default: the system clock); tests pass one they can move.
    """
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)
    log = get_logger("agora.app")
    runtime = Runtime.create(settings, clock=clock)
    identity = IdentityModule(runtime)
    jobs = JobsModule(runtime)
    catalog = CatalogModule(runtime, jobs.queue)
    payments = PaymentsModule(runtime)
    ordering = OrderingModule(
        runtime,
        products=catalog.products,
        inventory=catalog.inventory,
        users=identity.users,
        refunds=payments.refunds,
        jobs=jobs.queue,
    )
    job_runner = jobs.run({**catalog.job_handlers, **ordering.job_handlers})
    relay = Relay(
        runtime.database,
        runtime.broker,
        runtime.clock,
        batch=settings.relay_batch,
        lease_seconds=settings.relay_lease_seconds,
        idle_seconds=settings.relay_idle_ms / 1000,
    )
    events = EventsModule(runtime, relay)
    webhooks = WebhooksModule(runtime)
    scheduler = build_scheduler(runtime, ordering, payments)
    background = Background(
        scheduler,
        relay,
        runtime.broker,
        [*catalog.subscriptions, *webhooks.subscriptions, *jobs.subscriptions],
        [*webhooks.loops, job_runner.run],
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await identity.start()
        await runtime.broadcast.start()
        if settings.jobs_enabled:
            await background.start()
        # Everything built so far lives as long as the process: keep the garbage collector
        # from walking it again and again (gc.freeze), so collections stay short under load.
        gc.collect()
        gc.freeze()
        log.info(
            "started",
            env=settings.env,
            database=runtime.database.engine.dialect.name,
            redis=runtime.redis is not None,
        )
        try:
            yield
        finally:
            await background.stop()
            await webhooks.close()
            await identity.stop()
            await runtime.close()
            log.info("stopped")
            flush_access_log()

    app = AgoraApp(
        title="Agora",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        openapi_url=OPENAPI_URL if settings.docs_enabled else None,
        docs_url=None,
        redoc_url=None,
        telemetry={
            "tracing": settings.otel_enabled,
            "metrics": settings.otel_enabled,
            "logs": settings.otel_enabled,
        },
        outer_middleware=middleware_stack(
            settings,
            authenticator=identity.authenticator,
            limiter=runtime.limiter if settings.rate_limit_enabled else None,
            rate_policy=runtime.rate_policy,
            rules=identity.rules + catalog.rules + webhooks.rules,
            idempotency=idempotency_store(runtime),
            response_cache=runtime.response_cache,
        ),
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.runtime = runtime
    app.state.background = background
    app.state.readiness = Readiness(settings.ready_timeout, settings.retry_after_seconds)
    app.state.readiness.add("database", runtime.database.ping)
    if runtime.redis is not None:
        app.state.readiness.add("cache", runtime.ping_redis)
    if settings.broker_url and settings.jobs_enabled:  # where the relay and consumers run
        app.state.readiness.add("broker", runtime.broker.ping)

    install_error_handlers(app)
    # Routes are matched in order: probes and the catalog (most of the traffic) come first.
    app.include_router(health.router)
    catalog.install(app)
    identity.install(app)
    ordering.install(app)
    payments.install(app)
    events.install(app)
    webhooks.install(app)
    jobs.install(app)
    app.state.job_runner = job_runner
    if settings.docs_enabled:
        install_docs(app, OPENAPI_URL)
    return app
