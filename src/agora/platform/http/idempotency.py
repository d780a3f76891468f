"""`Idempotency-Key` on every POST: claim, run once, store the answer, replay it on repeats.

Sits inside the body limit (the body is already bounded) and after the access layer (the key
belongs to the caller: a user, an API key, or an anonymous client's IP). Paths whose answers
hand out secrets (modules declare them: sign-in, new API keys) are left out: never stored. The
request's `Attempt` goes to the route in the scope's state, so that its use case records
recovery points in its own transactions (`agora.platform.idempotency`).

Two requests are the same when path, query and body are; a JSON body is compared as canonical
JSON (keys sorted), so the same document with its keys in another order is the same request.
"""

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Awaitable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.platform.errors import (
    BadRequest,
    Conflict,
    RuleViolation,
    current_trace_id,
    send_error,
)
from agora.platform.http.callers import caller_key
from agora.platform.http.headers import request_headers
from agora.platform.idempotency import (
    IDEMPOTENCY_STATE,
    Attempt,
    Claimed,
    IdempotencyStore,
    InFlight,
    Mismatch,
    Replay,
)
from agora.platform.observability import get_logger

log = get_logger("agora.idempotency")

_KEY = re.compile(rb"[\x20-\x7e]{1,255}")
_KEEP_HEADERS = frozenset({b"content-type", b"location", b"etag"})
_RELEASE_STATUSES = frozenset({400, 401, 403, 429})
_REPLAYED = (b"idempotent-replayed", b"true")


class IdempotencyMiddleware:
    def __init__(
        self, app: ASGIApp, *, store: IdempotencyStore, excluded: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.store = store
        self.excluded = excluded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        raw_key = request_headers(scope).get(b"idempotency-key")
        if raw_key is None or scope["path"].startswith(self.excluded):
            await self.app(scope, receive, send)
            return
        if not _KEY.fullmatch(raw_key):
            await send_error(
                send,
                BadRequest(
                    "Idempotency-Key must be 1 to 255 printable ASCII characters.",
                    code="malformed_idempotency_key",
                    field="Idempotency-Key",
                ),
            )
            return

        body = await _read_body(receive)
        owner = caller_key(scope)
        key = raw_key.decode("ascii")
        fingerprint = _fingerprint(scope, _canonical(scope, body))
        # Keys claimed before fingerprints were canonical hold the hash of the raw body.
        claim = await self.store.claim(owner, key, fingerprint, _fingerprint(scope, body))
        if isinstance(claim, Replay):
            await _replay(send, claim)
            return
        if isinstance(claim, Mismatch):
            await send_error(
                send,
                RuleViolation(
                    "This Idempotency-Key was used with a different request.",
                    code="idempotency_key_reused",
                    field="Idempotency-Key",
                ),
            )
            return
        if isinstance(claim, InFlight):
            await send_error(
                send,
                Conflict(
                    "A request with this Idempotency-Key is still being processed; retry later.",
                    code="idempotency_key_in_flight",
                    field="Idempotency-Key",
                    headers={"Retry-After": "1"},
                ),
            )
            return
        if isinstance(claim, Claimed):
            await self._run(scope, body, receive, send, claim.attempt)

    async def _run(
        self, scope: Scope, body: bytes, receive: Receive, send: Send, attempt: Attempt
    ) -> None:
        status = 500
        headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (name.decode("latin-1"), value.decode("latin-1"))
                    for name, value in message.get("headers", ())
                    if name.lower() in _KEEP_HEADERS
                ]
                if attempt.replayed:  # the use case answered from what an interrupted attempt did
                    message["headers"] = [*message.get("headers", ()), _REPLAYED]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        scope.setdefault("state", {})[IDEMPOTENCY_STATE] = attempt
        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            # Shielded: a cancelled request (a client gone, a server stopping) still lets go.
            await _settle(asyncio.shield(self.store.abandon(attempt)))
            raise
        if status in _RELEASE_STATUSES or status >= 500:
            await _settle(self.store.abandon(attempt))
        else:
            await _settle(self.store.complete(attempt, status, headers, b"".join(chunks)))


async def _settle(bookkeeping: Awaitable[None]) -> None:
    """Store or release the key after the answer went out. If the database fails now, the
    answer stands and the key stays locked until its lock expires (then a retry resumes)."""
    try:
        await bookkeeping
    except Exception as exc:
        log.warning("idempotency_key_not_settled", error_type=type(exc).__name__)


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _fingerprint(scope: Scope, body: bytes) -> str:
    return fingerprint(scope["path"], scope.get("query_string", b""), body)


def _canonical(scope: Scope, body: bytes) -> bytes:
    return canonical_body(request_headers(scope).get(b"content-type", b""), body)


def fingerprint(path: str, query: bytes, body: bytes) -> str:
    """What makes two requests under one key the same request: path, query and body."""
    digest = hashlib.sha256()
    digest.update(path.encode())
    digest.update(b"\0" + query + b"\0")
    digest.update(body)
    return digest.hexdigest()


def canonical_body(content_type: bytes, body: bytes) -> bytes:
    """A JSON body as canonical JSON (sorted keys, no spaces); a multipart body with its
    boundary replaced by a fixed one (clients draw a new boundary for every try of the same
    upload); any other body as it is."""
    kind, _, parameters = content_type.partition(b";")
    kind = kind.strip().lower()
    if body and (kind == b"application/json" or kind.endswith(b"+json")):
        try:
            return b"json:" + orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            pass  # the route answers 400 for it; the raw bytes still identify the request
    boundary = _MULTIPART_BOUNDARY.search(parameters) if kind == b"multipart/form-data" else None
    if body and boundary is not None:
        # The boundary never occurs inside a part (that is what makes it a boundary).
        return b"multipart:" + body.replace(b"--" + boundary.group(1).strip(b'"'), b"--\x00")
    return b"raw:" + body


_MULTIPART_BOUNDARY = re.compile(rb'boundary=("[^"]{1,70}"|[^\s;]{1,70})', re.IGNORECASE)


async def _replay(send: Send, replay: Replay) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in replay.headers]
    body = replay.body
    if replay.status >= 400:
        # An error envelope's traceId is the X-Request-ID of the answer it is in: this one.
        with contextlib.suppress(orjson.JSONDecodeError, TypeError):
            envelope = orjson.loads(body)
            if isinstance(envelope, dict) and "traceId" in envelope:
                body = orjson.dumps({**envelope, "traceId": current_trace_id()})
    headers.append((b"content-length", str(len(body)).encode()))
    headers.append(_REPLAYED)
    await send({"type": "http.response.start", "status": replay.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
