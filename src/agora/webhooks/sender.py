"""One HTTP attempt at a webhook delivery, bounded in every direction.

The request goes to the address the guard checked (the URL's host is kept in `Host` and, over
TLS, as the SNI name that the certificate is verified against). Redirects are never followed,
proxies from the environment are ignored, the whole attempt (connect, send, the answer's head
and body) has one deadline, and at most `max_body` bytes of the answer are read: a receiver
that hangs or streams 50 MB costs one timeout or 64 KiB, not a stuck worker.
"""

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

import httpx

from agora.webhooks.addresses import AddressGuard, RefusedUrl, parse
from agora.webhooks.domain import Outcome, parse_retry_after

BODY_KEPT = 1024
"""Characters of the receiver's answer kept in the delivery log."""


@dataclass(frozen=True)
class AttemptResult:
    outcome: Outcome
    duration_ms: int
    status_code: int | None = None
    body: str | None = None
    error: str | None = None
    retry_after: float | None = None


class Sender:
    def __init__(
        self,
        guard: AddressGuard,
        *,
        timeout: float,
        user_agent: str,
        max_body: int = 64 * 1024,
        max_connections: int = 64,
    ) -> None:
        self.guard = guard
        self.timeout = timeout
        self.user_agent = user_agent
        self.max_body = max_body
        self.client = self._client(max_connections, keepalive=16)
        # Connections are pooled by the address connected to; a TLS connection verified for one
        # name must not carry a request for another name on the same address: none kept.
        self.tls_client = self._client(max_connections, keepalive=0)

    def _client(self, max_connections: int, *, keepalive: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(self.timeout),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=keepalive
            ),
        )

    async def send(
        self, url: str, headers: dict[str, str], body: bytes, now: datetime
    ) -> AttemptResult:
        started = time.monotonic()

        def took() -> int:
            return round((time.monotonic() - started) * 1000)

        try:
            async with asyncio.timeout(self.timeout):
                target = parse(url)
                address = await self.guard.resolve(target)
                host = f"[{address}]" if ":" in address else address
                client = self.tls_client if target.scheme == "https" else self.client
                request = client.build_request(
                    "POST",
                    f"{target.scheme}://{host}:{target.port}{target.path}",
                    content=body,
                    headers={
                        **headers,
                        "Host": target.host_header,
                        "Content-Type": "application/json",
                        "Accept-Encoding": "identity",  # the log keeps the answer as it is
                        "User-Agent": self.user_agent,
                    },
                    extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
                )
                response = await client.send(request, stream=True)
                try:
                    kept = await self._read_some(response)
                finally:
                    await response.aclose()
        except RefusedUrl as refused:
            # A name that does not resolve now may again later (DNS has bad minutes): retried.
            # One that resolves inside is refused for good.
            kind = (
                Outcome.CONNECTION_ERROR
                if refused.code == "url_unresolvable"
                else Outcome.REFUSED_ADDRESS
            )
            return AttemptResult(kind, took(), error=_clean(refused.message))
        except (TimeoutError, httpx.TimeoutException):
            return AttemptResult(Outcome.TIMEOUT, took(), error="No answer within the timeout.")
        except (httpx.TransportError, OSError) as exc:
            return AttemptResult(
                Outcome.CONNECTION_ERROR, took(), error=_clean(f"{type(exc).__name__}: {exc}")
            )
        except (ValueError, UnicodeError, httpx.InvalidURL) as exc:  # httpx cannot send it
            return AttemptResult(
                Outcome.REFUSED_ADDRESS, took(), error=_clean(f"Cannot send to this URL: {exc}")
            )
        code = response.status_code
        return AttemptResult(
            Outcome.SUCCEEDED if 200 <= code < 300 else Outcome.HTTP_ERROR,
            took(),
            status_code=code,
            body=_clean(kept.decode("utf-8", errors="replace"), BODY_KEPT),
            error=_clean(_redirect_note(response)) if 300 <= code < 400 else None,
            retry_after=parse_retry_after(response.headers.get("retry-after"), now)
            if code in (429, 503)
            else None,
        )

    async def _read_some(self, response: httpx.Response) -> bytes:
        kept = bytearray()
        async for chunk in response.aiter_raw():
            kept += chunk
            if len(kept) >= self.max_body:
                break
        return bytes(kept[: self.max_body])

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.tls_client.aclose()


def _clean(text: str, limit: int = 200) -> str:
    """Text fit to store: no NUL (PostgreSQL refuses it), at most `limit` characters."""
    return text.replace("\x00", "\ufffd")[:limit]


def _redirect_note(response: httpx.Response) -> str:
    return f"Redirect to {response.headers.get('location', '?')[:120]} not followed."
