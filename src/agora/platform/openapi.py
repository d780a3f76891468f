"""What `/openapi.json` adds to FastAPI's document: how to authenticate, per operation.

The security of an operation is read from its dependencies, so the document cannot drift from
the code: `current_user` (signed-in users only) is `bearerAuth`; `current_principal` (and the
`authorize` check built on it) is `bearerAuth` or `apiKeyAuth` (`require_role` is built on
`current_user`);
`optional_principal` (public reads that show more to some callers) lists both after `{}`
(anonymous allowed). Swagger UI's Authorize button and generated clients follow it. GETs under
`/api/` declare `If-None-Match` (their answers carry ETags; see `caching.py`).
"""

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from agora.platform.security.dependencies import (
    current_principal,
    current_user,
    optional_principal,
)

BEARER = "bearerAuth"
API_KEY = "apiKeyAuth"

SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from `POST /api/v1/auth/login` (15 minutes; renew it "
        "with `POST /api/v1/auth/refresh`).",
    },
    API_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "A key from `POST /api/v1/api-keys` (admins), for server-to-server "
        "calls; it may do what its scopes allow.",
    },
}

IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "An ETag from an earlier answer: 304 Not Modified, without a body, while "
    "the resource has not changed.",
    "schema": {"type": "string"},
}


NOT_MODIFIED = {
    "description": "Not Modified: the ETag in If-None-Match is the current one (no body).",
    "headers": {"ETag": {"schema": {"type": "string"}}},
}


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


OPTIONAL_SECURITY: dict[str, Any] = {"security": [{}, {BEARER: []}, {API_KEY: []}]}
"""`openapi_extra` of a route that reads the caller itself (`request_principal`), off the
dependency graph, to show some callers more."""


def security_of(route: APIRoute | RouteContext) -> list[dict[str, list[str]]] | None:
    """The `security` of a route's operation, from the dependencies it declares."""
    calls = set(_calls(route.dependant))
    if current_user in calls:
        return [{BEARER: []}]
    if current_principal in calls:
        return [{BEARER: []}, {API_KEY: []}]
    if optional_principal in calls:
        return [{}, {BEARER: []}, {API_KEY: []}]
    return None


def complete(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    """Add the security schemes, each operation's security and conditional-request headers."""
    document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        path = route.path_format or ""
        security = security_of(route)
        for method in route.methods or ():
            operation = document["paths"].get(path, {}).get(method.lower())
            if operation is None:
                continue
            if security is not None:
                operation["security"] = security
            if method == "GET" and path.startswith("/api/"):
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == IF_NONE_MATCH["name"] for p in parameters):
                    parameters.append(IF_NONE_MATCH)
                operation["responses"].setdefault("304", NOT_MODIFIED)
    return document
