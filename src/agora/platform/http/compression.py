"""gzip for clients that accept it, with ETags that stay strong validators.

Starlette's compressor compresses; this layer marks the ETag of a gzip-encoded body (`"abc"`
becomes `"abc-gzip"`, `agora.platform.etags.for_coding`), because a strong ETag must differ
between content codings. A 304 is decided outside, on the marked ETag
(`agora.platform.http.caching`).
"""

from starlette.middleware.gzip import GZipResponder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.platform.etags import for_coding
from agora.platform.http.headers import request_headers

_GZIP = (b"content-encoding", b"gzip")


class CompressionMiddleware:
    def __init__(self, app: ASGIApp, *, minimum_size: int, level: int = 6) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.level = level

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or b"gzip" not in request_headers(scope).get(
            b"accept-encoding", b""
        ):
            await self.app(scope, receive, send)
            return

        async def send_marking_etag(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                if _GZIP in headers:
                    message["headers"] = [
                        (name, for_coding(value, b"gzip") if name == b"etag" else value)
                        for name, value in headers
                    ]
            await send(message)

        # Starlette's GZipMiddleware would read the request headers again.
        responder = GZipResponder(self.app, self.minimum_size, compresslevel=self.level)
        await responder(scope, receive, send_marking_etag)
