"""Cache-Control, ETags and 304s: what every response carries, decided in one place.

Routes choose a policy (`PRIVATE`, `public(max_age)`) and give their JSON an ETag of its bytes
(`agora.platform.responses`). On the way out, in the outermost layer's one pass over the
response's headers, `finish` then
- gives a response without Cache-Control `no-store` (an API answer is private by default),
- answers 304 Not Modified when the If-None-Match of a GET matches the response's final ETag (the
  compressor marks a gzip body's, `etags.for_coding`), for every source of the 200 alike: a
  route, the response cache, a file,
- and drops the internal headers the response cache reads (`X-Agora-Cache-Tags`, ...).
"""

from agora.platform.etags import none_match

Header = tuple[bytes, bytes]

PRIVATE = "private, no-store"
"""For answers that depend on the caller."""

TAGS_HEADER = b"x-agora-cache-tags"
"""What a cacheable response is about (`product:<id>`, `products`): writes purge these tags."""
SHARED_HEADER = b"x-agora-cache"
"""`shared`: every caller who may see the resource gets these bytes (signed-in ones too)."""

_NO_STORE = (b"cache-control", b"no-store")
INTERNAL_HEADERS = frozenset({TAGS_HEADER, SHARED_HEADER})
"""Headers the response cache reads that never leave the process."""
# A 304 carries the validators and cache headers of the 200 it stands for, not its body's
# metadata (RFC 9110 section 15.4.5).
_BODY_HEADERS = frozenset({b"content-length", b"content-type", b"content-encoding"})


def public(max_age: int) -> str:
    """For public reads that shared caches may keep for `max_age` seconds."""
    return f"public, max-age={max_age}"


def finish(
    status: int, headers: list[Header], present: dict[bytes, bytes], if_none_match: bytes | None
) -> int:
    """Settle a response's caching headers in place; the status to send (304 or `status`).

    `present` is `dict(headers)`; `if_none_match` the request's If-None-Match on a GET or HEAD.
    """
    if TAGS_HEADER in present or SHARED_HEADER in present:
        headers[:] = [header for header in headers if header[0] not in INTERNAL_HEADERS]
    if b"cache-control" not in present:
        headers.append(_NO_STORE)
    if status != 200 or if_none_match is None:
        return status
    etag = present.get(b"etag")
    if etag is not None and none_match(if_none_match.decode("latin-1"), etag.decode("latin-1")):
        headers[:] = [header for header in headers if header[0] not in _BODY_HEADERS]
        return 304
    return status
