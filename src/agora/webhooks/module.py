"""How webhooks plug into an Agora instance: its wiring (used by `agora.app` only).

The fan-out consumes every event; the dispatcher runs wherever the background runs (the web
process by default, `agora worker` in production) and sends what the fan-out queued.
"""

import ipaddress
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from agora import __version__
from agora.platform.broker import Subscription
from agora.platform.http.path_rules import PathRules
from agora.platform.runtime import Runtime
from agora.webhooks.addresses import AddressGuard, Resolver, resolve_system
from agora.webhooks.api import router
from agora.webhooks.consumers import FanOut
from agora.webhooks.dispatcher import Dispatcher
from agora.webhooks.domain import RetryPolicy
from agora.webhooks.sender import Sender
from agora.webhooks.service import WebhookService
from agora.webhooks.signing import SecretBox


@dataclass(frozen=True)
class WebhooksServices:
    service: WebhookService
    dispatcher: Dispatcher


class WebhooksModule:
    def __init__(self, runtime: Runtime, resolver: Resolver = resolve_system) -> None:
        settings = runtime.settings
        guard = AddressGuard(
            resolver,
            [ipaddress.ip_network(n, strict=False) for n in settings.webhook_allowed_networks],
        )
        box = SecretBox(runtime.secret)
        window = timedelta(hours=settings.webhook_retry_hours)
        self.sender = Sender(
            guard,
            timeout=settings.webhook_timeout_seconds,
            user_agent=f"Agora-Webhooks/{__version__}",
            max_connections=settings.webhook_concurrency,
        )
        dispatcher = Dispatcher(
            runtime.database,
            runtime.clock,
            self.sender,
            box,
            RetryPolicy(
                base_seconds=settings.webhook_backoff_base_seconds,
                cap_seconds=settings.webhook_backoff_cap_seconds,
            ),
            concurrency=settings.webhook_concurrency,
            poll_seconds=settings.webhook_poll_ms / 1000,
            disable_after=timedelta(hours=settings.webhook_disable_after_hours),
        )
        self.services = WebhooksServices(
            WebhookService(
                runtime.database, runtime.clock, guard, box, window=window, wake=dispatcher.wake
            ),
            dispatcher,
        )
        fan_out = FanOut(runtime.database, runtime.clock, window, dispatcher.wake)
        self.subscriptions: list[Subscription] = [fan_out.subscription()]
        self.loops = [dispatcher.run]
        # Creating an endpoint and rotating its secret answer with the secret: an
        # Idempotency-Key replay must not keep a copy of it.
        self.rules = PathRules(never_stored=("/api/v1/webhook-endpoints",))

    def install(self, app: FastAPI) -> None:
        app.state.webhooks = self.services
        app.include_router(router)

    async def close(self) -> None:
        await self.sender.aclose()
