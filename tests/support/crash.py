"""An Agora server that kills itself (SIGKILL) right after a chosen commit, before answering.

`AGORA_TEST_CRASH_AFTER` names the commit: `order_placed` (a transaction that inserted an
order) or `payment_succeeded` (one that marked a payment succeeded). The process dies as a
power cut would take it: the effect is committed, the answer never leaves, nothing is cleaned
up. Serve it with `tests.support.server.serving(..., factory="tests.support.crash:create_app")`.
"""

import os
import signal
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.orm import Session

from agora.app import create_app as create_agora_app
from agora.ordering.models import Order
from agora.payments.models import Payment


def _committing(session: Session, moment: str) -> bool:
    if moment == "order_placed":
        return any(isinstance(row, Order) for row in session.new)
    if moment == "payment_succeeded":
        return any(isinstance(row, Payment) and row.status == "succeeded" for row in session.dirty)
    raise ValueError(f"unknown AGORA_TEST_CRASH_AFTER {moment!r}")


def create_app() -> FastAPI:
    moment = os.environ["AGORA_TEST_CRASH_AFTER"]

    @event.listens_for(Session, "before_flush")
    def note(session: Session, *_: Any) -> None:
        if _committing(session, moment):
            session.info["crash_after_commit"] = True

    @event.listens_for(Session, "after_commit")
    def crash(session: Session) -> None:
        if session.info.pop("crash_after_commit", False):
            os.kill(os.getpid(), signal.SIGKILL)

    return create_agora_app()
