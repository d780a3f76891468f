"""Request bodies over the limit are refused while they stream in, never buffered whole.

The limit is `max_body_bytes` (1 MiB) for JSON and other bodies, `max_upload_bytes` (10 MiB)
for multipart uploads, and what `path_limits` gives paths that stream files (signed uploads).
A declared Content-Length over the limit is refused before reading a byte; a chunked body is
cut off as soon as it passes the limit. FastAPI's own `max_body_size` was
considered: its 413 is plain text on some paths and it cannot tell uploads from JSON.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.platform.errors import BadRequest, PayloadTooLarge, send_error
from agora.platform.http.headers import request_headers


class _BodyTooLarge(Exception):
    """Raised from `receive` once the body passes the limit."""


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_upload_bytes: int,
        path_limits: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.path_limits = path_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = request_headers(scope)
        declared = headers.get(b"content-length")
        if declared is None and b"transfer-encoding" not in headers:
            # No body announced (a GET, say): the server delivers none, so nothing to limit.
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        if headers.get(b"content-type", b"")[:19].lower() == b"multipart/form-data":
            limit = self.max_upload_bytes
        for prefix, path_limit in self.path_limits:
            if scope["path"].startswith(prefix):
                limit = path_limit
        # The unread rest of the body would be garbage on a kept-alive connection: close it.
        too_large = PayloadTooLarge(
            f"The request body is larger than the limit of {limit} bytes.",
            field="body",
            headers={"Connection": "close"},
        )
        if declared is not None:
            if not declared.strip().isdigit():
                await send_error(send, BadRequest("Content-Length is not a number.", field="body"))
                return
            if int(declared) > limit:
                await send_error(send, too_large)
                return

        received = 0
        exceeded = False
        started = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                if exceeded:
                    # The app turned the cut-off body into some other answer; the truth is 413.
                    replaced = True
                    await send_error(send, too_large)
                    return
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if replaced:
                return
            if started:
                raise
            await send_error(send, too_large)
