"""The HTTP/1.1 protocol `agora serve` runs: uvicorn's httptools protocol with a bounded head.

httptools buffers a request line and headers of any size and count (uvicorn sets no limit for
it), so a client could make the server hold a 16 MiB header, or 100,000 of them, before Agora
sees the request. This protocol counts while the head streams in and refuses a head over the
limits of `agora.platform.http.request_context` (431, or 414 for the URL) without reading
further, closing the connection. The request-context layer checks the same limits on the
parsed head, for any other ASGI server. Answers the server makes itself (431, 414, and 400 for
an unparsable request) carry the error envelope like every other error.
"""

import os

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from agora.platform.errors import AgoraError, BadRequest, error_body
from agora.platform.http.headers import finish_response_headers
from agora.platform.http.request_context import (
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_URL_BYTES,
    head_too_large,
    url_too_long,
)
from agora.platform.http.security_headers import SecurityHeaders
from agora.platform.observability import get_logger

log = get_logger("agora.http")


_SECURITY = SecurityHeaders(hsts_max_age=0)


class _Refused(Exception):
    """Raised from a parser callback: the head is over a limit."""


# Request line and header framing (": ", CRLF) around the URL and the headers themselves.
MAX_HEAD_BYTES = MAX_URL_BYTES + MAX_HEADER_BYTES + 4 * MAX_HEADERS + 64


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    _refusal: AgoraError | None = None
    _head_bytes = 0
    _header_bytes = 0
    _header_count = 0
    _in_body = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = self._header_count = 0

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > MAX_URL_BYTES:
            self._refuse(url_too_long())
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._header_bytes += len(name) + len(value)
        if self._header_count > MAX_HEADERS or self._header_bytes > MAX_HEADER_BYTES:
            self._refuse(head_too_large())
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_body = True
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        # Bytes of a head still streaming in: one huge header never reaches `on_header`
        # until it is complete, so the raw bytes are what bound the buffer.
        if not self._in_body:
            self._head_bytes += len(data)
        try:
            super().data_received(data)
        finally:
            if self._refusal is None and not self._in_body and self._head_bytes > MAX_HEAD_BYTES:
                self._refusal = head_too_large()
            if self._refusal is not None and not self.transport.is_closing():
                self._send_error(self._refusal)

    def send_400_response(self, msg: str) -> None:
        if self._refusal is not None:
            return  # `data_received` answers with the refusal instead
        self._send_error(BadRequest("The request is not valid HTTP/1.1.", code="malformed_request"))

    def _refuse(self, error: AgoraError) -> None:
        self._refusal = error
        raise _Refused

    def _send_error(self, error: AgoraError) -> None:
        request_id = os.urandom(16).hex()
        body = error_body(error.status_code, error.message, error.errors, trace_id=request_id)
        headers = [
            *self.server_state.default_headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
            (b"connection", b"close"),
        ]
        _, headers = finish_response_headers(
            error.status_code, headers, security=_SECURITY, https=False
        )
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(STATUS_LINE[error.status_code] + head + b"\r\n" + body)
        self.transport.close()
        log.warning(
            "request_refused",
            status=error.status_code,
            reason=error.error_code,
            client=self.client[0] if self.client else None,
            request_id=request_id,
        )
