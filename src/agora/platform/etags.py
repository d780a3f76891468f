"""ETags and conditional requests (RFC 9110 section 13).

An ETag is a strong validator computed from the exact bytes of a representation, so it differs
between API versions, sparse fieldsets and content codings (`for_coding`: a gzip body's ETag
ends in `-gzip`).
If-None-Match uses the weak comparison, If-Match the strong one, as the RFC says.
"""

import base64
import hashlib
import re
from typing import Literal

from agora.platform.errors import BadRequest, PreconditionFailed

_GZIP_SUFFIX = "-gzip"

Precondition = Literal["*"] | frozenset[str] | None

ENTITY_TAGS = r'^[ \t]*(\*|(,[ \t]*)*(W/)?"[!#-~]*"([ \t]*,([ \t]*(W/)?"[!#-~]*")?)*)[ \t]*$'
"""An If-Match or If-None-Match value (RFC 9110 section 8.8.3), as a regular expression."""
_ENTITY_TAGS = re.compile(ENTITY_TAGS)


def compute_etag(body: bytes) -> str:
    """A strong ETag for a representation: a quoted, URL-safe 128-bit BLAKE2b digest."""
    digest = hashlib.blake2b(body, digest_size=16).digest()
    return '"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode() + '"'


def for_coding(etag: bytes, coding: bytes) -> bytes:
    """The ETag of a representation's `coding` (`"x"` -> `"x-gzip"`); weak tags stay as they are."""
    if coding != b"gzip" or etag.startswith(b"W/") or not etag.endswith(b'"'):
        return etag
    return etag[:-1] + _GZIP_SUFFIX.encode() + b'"'


def _opaque(tag: str) -> tuple[str, bool]:
    """`W/"x-gzip"` -> (`"x"`, weak=True): the tag without coding suffix, and its weakness."""
    weak = tag.startswith("W/")
    if weak:
        tag = tag[2:]
    if tag.endswith(_GZIP_SUFFIX + '"'):
        tag = tag[: -len(_GZIP_SUFFIX) - 1] + '"'
    return tag, weak


def parse_etags(header: str | None) -> Precondition:
    """The entity tags of an If-Match / If-None-Match header; `None` when absent or empty."""
    if header is None:
        return None
    header = header.strip()
    if header == "*":
        return "*"
    tags: list[str] = []
    for raw in header.split(","):
        candidate = raw.strip()
        body = candidate[2:] if candidate.startswith("W/") else candidate
        if len(body) >= 2 and body.startswith('"') and body.endswith('"'):
            tags.append(candidate)
    return frozenset(tags) if tags else None


def none_match(header: str | None, current: str) -> bool:
    """True when If-None-Match matches `current` (weak comparison): answer 304."""
    if header == current:
        return True  # the usual revalidation: the client echoes the ETag it was given
    tags = parse_etags(header)
    if tags is None:
        return False
    if tags == "*":
        return True
    target, _ = _opaque(current)
    return any(_opaque(tag)[0] == target for tag in tags)


def if_match(header: str | None, current: str | None) -> bool:
    """True when the write may go ahead. Absent If-Match always passes.

    `*` matches any existing resource; otherwise one listed tag must be strongly equal to the
    current ETag (weak tags never match).
    """
    tags = parse_etags(header)
    if header is None:
        return True
    if tags is None:
        return False
    if tags == "*":
        return current is not None
    if current is None:
        return False
    target, _ = _opaque(current)
    for tag in tags:
        opaque, weak = _opaque(tag)
        if not weak and opaque == target:
            return True
    return False


def require_match(header: str | None, current: str | None) -> None:
    """Raise 412 unless `if_match(header, current)`; 400 when If-Match holds no entity tag."""
    if header is not None and _ENTITY_TAGS.match(header) is None:
        raise BadRequest(
            'If-Match must be * or entity tags (quoted ETags such as "abc").',
            code="malformed_if_match",
            field="If-Match",
        )
    if not if_match(header, current):
        raise PreconditionFailed(field="If-Match")
