"""The rules of delivery, free of I/O: what an attempt's result means, and when to try again.

- 2xx: delivered.
- 5xx, 408, 429, a timeout, a refused or reset connection: tried again after an exponential
  backoff with full jitter (a random delay between 0 and `base * 2^(n-1)`, capped), or after
  `Retry-After` when the receiver sent one (429, 503), until the delivery's retry window closes.
- 410 Gone: the receiver says the endpoint no longer exists: it is disabled.
- Any other answer (another 4xx, a redirect, which is never followed) will not change by asking
  again: the delivery fails at once.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum


class Outcome(StrEnum):
    """What one attempt came to (stored with the attempt)."""

    SUCCEEDED = "succeeded"
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    REFUSED_ADDRESS = "refused_address"
    """The URL now resolves to an address deliveries may not reach (checked at each attempt)."""
    ERROR = "error"
    """Agora could not make the attempt (logged with the delivery's id); tried again later."""


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    GONE = "gone"


_RETRIED_STATUSES = frozenset({408, 429})


def verdict(outcome: Outcome, status_code: int | None) -> Verdict:
    if outcome is Outcome.SUCCEEDED:
        return Verdict.DELIVERED
    if outcome in (Outcome.TIMEOUT, Outcome.CONNECTION_ERROR, Outcome.ERROR):
        return Verdict.RETRY
    if outcome is Outcome.REFUSED_ADDRESS or status_code is None:
        return Verdict.FAILED  # (a name that now points inside will be refused again)
    if status_code == 410:
        return Verdict.GONE
    if status_code >= 500 or status_code in _RETRIED_STATUSES:
        return Verdict.RETRY
    return Verdict.FAILED


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 5.0
    cap_seconds: float = 6 * 3600.0
    max_retry_after_seconds: float = 24 * 3600.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))] (attempt counts from 1)."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** min(attempt - 1, 40))
        return rng.uniform(0, ceiling)

    def next_attempt(
        self,
        *,
        attempt: int,
        now: datetime,
        retry_until: datetime,
        retry_after: float | None,
        rng: random.Random,
    ) -> datetime | None:
        """When to try again after failed attempt number `attempt`; None once the window is
        closed (the delivery has failed for good)."""
        if retry_after is not None:
            # At least the first step of the backoff: `Retry-After: 0` must not make a loop.
            delay = min(max(retry_after, self.base_seconds), self.max_retry_after_seconds)
        else:
            delay = self.backoff(attempt, rng)
        when = now + timedelta(seconds=delay)
        return when if when <= retry_until else None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds from `now`: delay-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
