"""Unversioned `/api/...` paths, versioned by the Accept header (docs/api.md, "Conventions").

`Accept: application/vnd.agora.api+json; version=2` on `/api/products` is served by
`/api/v2/products`; without a version it is v1. Only resources that have a v2 go there; a v2
request for a resource whose shape never changed is served by v1. Responses vary on Accept.
"""

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from agora.platform.errors import AgoraError, send_error
from agora.platform.http.headers import add_response_headers, request_headers

VENDOR_TYPE = "application/vnd.agora.api+json"
_VERSIONED = re.compile(r"^/api/v\d+(/|$)")
_VERSION_PARAM = re.compile(r"version\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
_VARY_ACCEPT = (b"vary", b"Accept")


def requested_version(accept: str) -> int | None:
    """The version asked for with Agora's vendor media type in an Accept header, if any."""
    for media_range in accept.split(","):
        if media_range.strip().lower().startswith(VENDOR_TYPE):
            match = _VERSION_PARAM.search(media_range)
            return int(match.group(1)) if match else 1
    return None


class ApiVersionMiddleware:
    def __init__(self, app: ASGIApp, *, versions: dict[int, frozenset[str]]) -> None:
        """`versions`: for each version above 1, the first path segments it serves."""
        self.app = app
        self.versions = versions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/api/") or _VERSIONED.match(path):
            await self.app(scope, receive, send)
            return

        accept = request_headers(scope).get(b"accept", b"").decode("latin-1")
        version = requested_version(accept) or 1
        rest = path[len("/api") :]
        resource = rest.split("/", 2)[1]
        if version != 1 and version not in self.versions:
            known = ", ".join(str(v) for v in sorted({1, *self.versions}))
            await send_error(
                send,
                AgoraError(
                    f"API version {version} does not exist; versions: {known}.",
                    code="unsupported_version",
                    field="Accept",
                    status_code=406,
                ),
            )
            return
        if version != 1 and resource not in self.versions[version]:
            version = 1  # this resource has the same shape in every version
        new_path = f"/api/v{version}{rest}"
        add_response_headers(scope, _VARY_ACCEPT)
        await self.app({**scope, "path": new_path, "raw_path": new_path.encode()}, receive, send)
