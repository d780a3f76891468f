"""The request's headers, read once; the response headers layers add, written once.

The outermost layer (`request_context`) reads `scope["headers"]` into `request_headers(scope)`
and every layer inside looks its headers up there, instead of scanning the list again. Layers
that add response headers whatever the answer (rate limits, `Vary: Accept`) queue them with
`add_response_headers`; the outermost layer writes them, with the ids, the security headers and
the caching headers, in its one pass over the response's headers.
"""

from collections.abc import Iterable

from starlette.types import Scope

from agora.platform.http import caching
from agora.platform.http.security_headers import SecurityHeaders

_REQUEST = "agora.request_headers"
_RESPONSE = "agora.response_headers"

Header = caching.Header


def request_headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name; of a repeated header, the first one counts.

    (The same value Starlette's `request.headers.get` gives routes.)
    """
    headers: dict[bytes, bytes] | None = scope.get(_REQUEST)
    if headers is None:
        headers = read_request_headers(scope)[0]
    return headers


def read_request_headers(scope: Scope) -> tuple[dict[bytes, bytes], int]:
    """Read the request's headers into the scope; also returns their size in bytes."""
    headers: dict[bytes, bytes] = {}
    size = 0
    for name, value in scope["headers"]:
        size += len(name) + len(value)
        if name not in headers:
            headers[name] = value
    scope[_REQUEST] = headers
    return headers, size


def add_response_headers(scope: Scope, *headers: Header) -> None:
    """Queue headers for this request's response, whoever answers it."""
    scope.setdefault(_RESPONSE, []).extend(headers)


def queued_response_headers(scope: Scope) -> list[Header]:
    """The list `add_response_headers` fills; the outermost layer takes it before the others run."""
    queued: list[Header] = scope.setdefault(_RESPONSE, [])
    return queued


def finish_response_headers(
    status: int,
    headers: Iterable[Header],
    *,
    security: SecurityHeaders,
    https: bool,
    if_none_match: bytes | None = None,
    added: Iterable[Header] = (),
) -> tuple[int, list[Header]]:
    """The last pass over a response's headers: the `added` ones, caching, security headers.

    Returns the status to send (304 when the response turned out not modified) and the headers.
    """
    present = dict(headers)  # the response's own; `added` never hold what is looked up here
    finished = [*headers, *added]
    status = caching.finish(status, finished, present, if_none_match)
    security.apply(finished, present, https=https)
    return status, finished
