"""How the event log plugs into an Agora instance (used by `agora.app` only)."""

from fastapi import FastAPI

from agora.events.api import router
from agora.events.repository import EventLog
from agora.platform.runtime import Runtime


class EventsModule:
    def __init__(self, runtime: Runtime) -> None:
        self.log = EventLog(runtime.database)

    def install(self, app: FastAPI) -> None:
        app.state.events = self.log
        app.include_router(router)
