"""The durable delivery queue's worker: claims due deliveries, sends them, records each try.

Deliveries are rows (`webhook_deliveries`), written by the fan-out in the transaction that
records the event as handled; a dispatcher claims a few at a time (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so dispatchers in several processes never claim the same row) for as long as an
attempt may take, sends them side by side, and writes each attempt and the delivery's next
state together. A dispatcher that dies mid-send leaves claims that expire: the delivery is sent
again, with the same `webhook-id` (delivery is at least once; receivers drop repeats by id).
"""

import asyncio
import contextlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from cryptography.fernet import InvalidToken
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agora.platform.broker import stop_if_cancelled
from agora.platform.clock import Clock
from agora.platform.db import Database
from agora.platform.events import record
from agora.platform.ids import new_id
from agora.platform.observability import get_logger
from agora.webhooks.addresses import public_part
from agora.webhooks.domain import Outcome, RetryPolicy, Verdict, verdict
from agora.webhooks.events import WebhookEndpointDisabled
from agora.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from agora.webhooks.sender import AttemptResult, Sender
from agora.webhooks.signing import SecretBox, signature_header

log = get_logger("agora.webhooks")


@dataclass(frozen=True)
class _Claimed:
    """A claimed delivery and what sending it needs (read in the claiming transaction)."""

    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    claim: uuid.UUID
    number: int
    message_id: str
    payload: dict[str, object]
    retry_until: datetime
    url: str
    secrets: tuple[str, ...]
    """Sealed: the current one, and the previous one while it still signs."""


class Dispatcher:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        sender: Sender,
        box: SecretBox,
        policy: RetryPolicy,
        *,
        concurrency: int,
        poll_seconds: float,
        disable_after: timedelta,
        rng: random.Random | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.sender = sender
        self.box = box
        self.policy = policy
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.disable_after = disable_after
        self.claim_for = timedelta(seconds=sender.timeout * 2 + 5)
        self.rng = rng or random.SystemRandom()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for due deliveries now (the fan-out calls this after it queued some)."""
        self._wake.set()

    async def dispatch_once(self) -> int:
        """Claim what is due (up to `concurrency`), send it all, and return how many."""
        claimed = await self._claim(self.concurrency)
        await asyncio.gather(*(self._deliver(item) for item in claimed))
        return len(claimed)

    async def run(self) -> None:
        """Keep up to `concurrency` deliveries in flight until cancelled."""
        in_flight: set[asyncio.Task[None]] = set()
        failures = 0
        try:
            while True:
                self._wake.clear()
                claimed: list[_Claimed] = []
                free = self.concurrency - len(in_flight)
                if free > 0:
                    try:
                        claimed = await self._claim(free)
                        failures = 0
                    except Exception as exc:
                        stop_if_cancelled(exc)
                        failures += 1
                        log.warning("dispatch_failed", error_type=type(exc).__name__)
                        await asyncio.sleep(min(5.0, 0.2 * 2**failures))
                        continue
                for item in claimed:
                    task = asyncio.create_task(self._deliver(item))
                    in_flight.add(task)
                    task.add_done_callback(self._finished(in_flight))
                if claimed and len(in_flight) < self.concurrency:
                    continue  # there may be more due
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
        finally:
            for task in in_flight:
                task.cancel()  # their claims expire; another dispatcher sends them again
            await asyncio.gather(*in_flight, return_exceptions=True)

    def _finished(self, in_flight: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            self._wake.set()  # a slot is free
            if not task.cancelled() and task.exception() is not None:
                log.error("delivery_crashed", error_type=type(task.exception()).__name__)

        return done

    async def _claim(self, limit: int) -> list[_Claimed]:
        now = self.clock.now()
        token = new_id()
        async with self.database.unit_of_work() as uow:
            session = uow.session
            ids = (
                await session.scalars(
                    select(WebhookDelivery.id)
                    .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                    .where(
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.next_attempt_at <= now,
                        or_(
                            WebhookDelivery.claimed_until.is_(None),
                            WebhookDelivery.claimed_until < now,
                        ),
                        WebhookEndpoint.enabled.is_(True),
                    )
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True, of=WebhookDelivery)
                )
            ).all()
            if not ids:
                return []
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids))
                .values(claim=token, claimed_until=now + self.claim_for)
            )
            rows = (
                await session.execute(
                    select(WebhookDelivery, WebhookEndpoint)
                    .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                    .where(WebhookDelivery.id.in_(ids))
                )
            ).all()
            await uow.commit()
        return [_claimed(delivery, endpoint, token, now) for delivery, endpoint in rows]

    async def _deliver(self, item: _Claimed) -> None:
        now = self.clock.now()
        try:
            body = orjson.dumps(item.payload)
            headers = {
                "webhook-id": item.message_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signature_header(
                    self._secrets(item), item.message_id, now, body
                ),
            }
            result = await self.sender.send(item.url, headers, body, now)
        except Exception as exc:
            # Whatever went wrong on Agora's side is an attempt too: logged, and retried within
            # the window (never a delivery claimed again and again without a trace).
            log.exception("delivery_failed", delivery_id=str(item.delivery_id))
            result = AttemptResult(Outcome.ERROR, 0, error=type(exc).__name__)
        await self._record(item, now, result)

    def _secrets(self, item: _Claimed) -> list[str]:
        """The current secret, and the previous one while it signs. A previous one sealed under
        an instance key that has changed since cannot be opened: it no longer signs."""
        current, *previous = item.secrets
        opened = [self.box.open(current)]
        for sealed in previous:
            with contextlib.suppress(InvalidToken):
                opened.append(self.box.open(sealed))
        return opened

    async def _record(self, item: _Claimed, started: datetime, result: AttemptResult) -> None:
        now = self.clock.now()
        outcome = verdict(result.outcome, result.status_code)
        next_at: datetime | None = None
        if outcome is Verdict.RETRY:
            next_at = self.policy.next_attempt(
                attempt=item.number,
                now=now,
                retry_until=item.retry_until,
                retry_after=result.retry_after,
                rng=self.rng,
            )
        status = {Verdict.DELIVERED: "succeeded", Verdict.RETRY: "pending"}.get(outcome, "failed")
        if status == "pending" and next_at is None:
            status = "failed"  # the retry window is closed
        async with self.database.unit_of_work() as uow:
            session = uow.session
            moved = await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == item.delivery_id, WebhookDelivery.claim == item.claim)
                .values(
                    status=status,
                    attempt_count=item.number,
                    next_attempt_at=next_at,
                    claim=None,
                    claimed_until=None,
                )
            )
            # Not ours any more (redelivered, or claimed by another dispatcher after this claim
            # ran out): the attempt is still logged, unless it went with its endpoint.
            lost = moved.rowcount == 0  # type: ignore[attr-defined]
            if lost and await session.get(WebhookDelivery, item.delivery_id) is None:
                return
            session.add(
                WebhookAttempt(
                    delivery_id=item.delivery_id,
                    number=item.number,
                    attempted_at=started,
                    duration_ms=result.duration_ms,
                    outcome=result.outcome.value,
                    status_code=result.status_code,
                    response_body=result.body,
                    error=result.error,
                )
            )
            await self._judge_endpoint(session, item.endpoint_id, outcome, now)
            await uow.commit()
        log.info(
            "webhook_attempt",
            delivery_id=str(item.delivery_id),
            attempt=item.number,
            outcome=result.outcome.value,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
        )

    async def _judge_endpoint(
        self, session: AsyncSession, endpoint_id: uuid.UUID, outcome: Verdict, now: datetime
    ) -> None:
        """A success clears the endpoint's run of failures; 410 Gone, or failures for longer
        than `disable_after`, disable it (and say so with an event)."""
        if outcome is Verdict.DELIVERED:
            await session.execute(
                update(WebhookEndpoint)
                .where(
                    WebhookEndpoint.id == endpoint_id, WebhookEndpoint.failing_since.is_not(None)
                )
                .values(failing_since=None)
            )
            return
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None or not endpoint.enabled:
            return
        failing_since = endpoint.failing_since or now
        reason = None
        if outcome is Verdict.GONE:
            reason = "gone"
        elif now - failing_since >= self.disable_after:
            reason = "failing"
        # Conditional, so that two dispatchers judging at once disable it (and say so) once.
        disabled = {"enabled": False, "disabled_reason": reason} if reason else {}
        changed = await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True))
            .values(failing_since=failing_since, **disabled)
        )
        if reason is not None and changed.rowcount:  # type: ignore[attr-defined]
            url = public_part(endpoint.url)
            record(session, WebhookEndpointDisabled(id=endpoint.id, url=url, reason=reason))
            log.warning("webhook_endpoint_disabled", endpoint_id=str(endpoint.id), reason=reason)


def _claimed(
    delivery: WebhookDelivery, endpoint: WebhookEndpoint, token: uuid.UUID, now: datetime
) -> _Claimed:
    secrets = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret is not None and expires is not None and expires > now:
        secrets.append(endpoint.previous_secret)
    return _Claimed(
        delivery_id=delivery.id,
        endpoint_id=endpoint.id,
        claim=token,
        number=delivery.attempt_count + 1,
        message_id=delivery.message_id,
        payload=delivery.payload,
        retry_until=delivery.retry_until,
        url=endpoint.url,
        secrets=tuple(secrets),
    )
