"""Whole public responses, kept in process and served before routing.

A GET answered with `Cache-Control: public, max-age=N` to an anonymous caller, and tagged by its
route (below), is stored (body, headers, ETag) for N seconds, per path, query and content
coding. A later anonymous GET for the same URL is answered from memory without reaching
FastAPI; the layers outside this one (request ids, security headers, rate limits, the access
log, and the 304 for a matching If-None-Match) still run. A route marks what a response is
about with the internal `X-Agora-Cache-Tags` header; writes purge those tags here and, through
the broadcast, in every other instance. A route may also mark a response `X-Agora-Cache:
shared` when every caller who can see the resource gets the same bytes, so that signed-in
callers are served from it too (with `Cache-Control: private, no-store`).
"""

import re
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.platform.http.caching import INTERNAL_HEADERS, PRIVATE, SHARED_HEADER, TAGS_HEADER
from agora.platform.http.headers import request_headers

_MAX_AGE = re.compile(rb"max-age=(\d+)")
# What a cached response may vary on: the key covers the first two (the version is in the
# path, the coding in the key), the store only takes anonymous answers, and CORS runs outside.
_HARMLESS_VARY = frozenset(
    {b"accept", b"accept-encoding", b"authorization", b"x-api-key", b"origin"}
)
_PRIVATE = (b"cache-control", PRIVATE.encode())


@dataclass(slots=True)
class CachedResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    expires: float
    shared: bool
    tags: tuple[str, ...]


class ResponseCache:
    """A bounded LRU of responses with expiry and tag-based purging."""

    def __init__(self, max_entries: int = 10_000, max_body: int = 256 * 1024) -> None:
        self.max_entries = max_entries
        self.max_body = max_body
        self._entries: OrderedDict[tuple[str, bytes, bool], CachedResponse] = OrderedDict()
        self._tags: dict[str, set[tuple[str, bytes, bool]]] = {}
        self.generation = 0
        """Counts purges: a response made while one ran may hold what it removed."""

    def get(self, key: tuple[str, bytes, bool]) -> CachedResponse | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires < time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(
        self, key: tuple[str, bytes, bool], entry: CachedResponse, generation: int | None = None
    ) -> None:
        """Store `entry`, unless a purge ran since `generation` (when the read began)."""
        if generation is not None and generation != self.generation:
            return
        self._drop(key)
        self._entries[key] = entry
        for tag in entry.tags:
            self._tags.setdefault(tag, set()).add(key)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def purge(self, *tags: str) -> None:
        self.generation += 1
        for tag in tags:
            for key in list(self._tags.pop(tag, ())):
                self._drop(key)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._tags.clear()

    def _drop(self, key: tuple[str, bytes, bool]) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for tag in entry.tags:
            keys = self._tags.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._tags[tag]


class ResponseCacheMiddleware:
    def __init__(self, app: ASGIApp, *, cache: ResponseCache | None) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cache = self.cache
        method = scope.get("method")
        if scope["type"] != "http" or cache is None or method not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        # The compressor reads the same (first) Accept-Encoding: keying on another one would
        # store a gzipped body for clients that asked for none.
        gzip = b"gzip" in request_headers(scope).get(b"accept-encoding", b"")
        key = (scope["path"], scope.get("query_string", b""), gzip)
        anonymous = scope.get("state", {}).get("principal") is None
        entry = cache.get(key)
        if entry is not None and (anonymous or entry.shared):
            await _serve(send, entry, method == "HEAD", anonymous)
            return
        if not anonymous or method != "GET":
            await self.app(scope, receive, send)
            return
        await self._fill(cache, scope, receive, send, key)

    async def _fill(
        self,
        cache: ResponseCache,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: tuple[str, bytes, bool],
    ) -> None:
        """Serve from the app and keep the answer if it is public and cacheable."""
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        cacheable = False
        generation = cache.generation

        async def capture(message: Message) -> None:
            nonlocal start, cacheable, size
            if message["type"] == "http.response.start":
                start = {**message}  # the layers outside rewrite the headers of the one sent
                cacheable = message["status"] == 200 and _storable(message.get("headers", ()))
            elif message["type"] == "http.response.body" and cacheable:
                body = message.get("body", b"")
                size += len(body)
                if size > cache.max_body:
                    cacheable = False
                else:
                    chunks.append(body)
                if not message.get("more_body", False) and cacheable and start is not None:
                    cache.put(key, _entry(start, b"".join(chunks)), generation)
            await send(message)

        await self.app(scope, receive, capture)


def _storable(headers: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...]) -> bool:
    """Public, with a max-age, and tagged: only answers whose writes purge them are kept."""
    public = max_age = tagged = False
    for name, value in headers:
        if name == b"cache-control":
            lowered = value.lower()
            public = (
                b"public" in lowered and b"no-store" not in lowered and b"private" not in lowered
            )
            max_age = _MAX_AGE.search(lowered) is not None
        elif name == TAGS_HEADER:
            tagged = True
        elif name == b"set-cookie":
            return False
        elif name == b"vary":
            varies = {part.strip().lower() for part in value.split(b",")}
            if not varies <= _HARMLESS_VARY:
                return False
    return public and max_age and tagged


def _entry(start: Message, body: bytes) -> CachedResponse:
    headers = list(start.get("headers", ()))
    max_age, shared, tags = 0, False, ()
    for name, value in headers:
        if name == b"cache-control":
            match = _MAX_AGE.search(value.lower())
            max_age = int(match.group(1)) if match else 0
        elif name == SHARED_HEADER:
            shared = value == b"shared"
        elif name == TAGS_HEADER:
            tags = tuple(tag.strip() for tag in value.decode("latin-1").split(",") if tag.strip())
    return CachedResponse(
        status=start["status"],
        headers=[(name, value) for name, value in headers if name not in INTERNAL_HEADERS],
        body=body,
        expires=time.monotonic() + max_age,
        shared=shared,
        tags=tags,
    )


async def _serve(send: Send, entry: CachedResponse, head: bool, anonymous: bool) -> None:
    headers = entry.headers
    if not anonymous:
        headers = [h for h in headers if h[0] != b"cache-control"] + [_PRIVATE]
    await send({"type": "http.response.start", "status": entry.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else entry.body})
