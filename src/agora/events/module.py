"""How the event log plugs into an Agora instance (used by `agora.app` only)."""

from dataclasses import dataclass

from fastapi import FastAPI

from agora.events.api import router
from agora.events.repository import EventLog
from agora.platform.outbox import Relay
from agora.platform.runtime import Runtime


@dataclass(frozen=True)
class EventsServices:
    log: EventLog
    relay: Relay


class EventsModule:
    def __init__(self, runtime: Runtime, relay: Relay) -> None:
        self.services = EventsServices(EventLog(runtime.database), relay)

    def install(self, app: FastAPI) -> None:
        app.state.events = self.services
        app.include_router(router)
