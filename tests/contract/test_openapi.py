"""The OpenAPI document describes the error envelope, never FastAPI's default 422."""

import re
from typing import Any

import httpx


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    document: dict[str, Any] = (await client.get("/openapi.json")).json()
    return document


async def test_no_default_validation_error_schema(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    for operations in document["paths"].values():
        for operation in operations.values():
            for answer in operation["responses"].values():
                assert "HTTPValidationError" not in str(answer)


async def test_every_operation_documents_the_error_envelope(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    for operations in document["paths"].values():
        for operation in operations.values():
            for status in ("4XX", "5XX"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}


async def test_operation_ids_are_camel_case_and_unique(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert all(op_id[0].islower() and "_" not in op_id for op_id in ids), ids


async def test_error_envelope_schema_matches_the_spec(client: httpx.AsyncClient) -> None:
    schema = (await _document(client))["components"]["schemas"]["ErrorEnvelope"]
    assert set(schema["properties"]) == {"success", "message", "statusCode", "errors", "traceId"}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def _concrete(path: str) -> str:
    """A request path for a documented one: any id (the check comes before the lookup)."""
    return re.sub(r"\{[a-z_]+_id\}", "01a20000-0000-7000-8000-000000000000", path)


async def test_the_documented_security_is_what_the_routes_enforce(
    client: httpx.AsyncClient, admin: Any
) -> None:
    """Anonymous: 401 exactly where the document requires credentials. An API key: refused
    (403) by the operations documented for signed-in users only."""
    document = await _document(client)
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["apiKeyAuth"] == {**schemes["apiKeyAuth"], "in": "header", "name": "X-API-Key"}
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "openapi check", "scopes": ["orders:read"]},
        headers=admin.headers,
    )
    key = {"X-API-Key": created.json()["data"]["key"]}
    checked = 0
    for method, path, operation in _operations(document):
        if path in ("/api/v1/auth/refresh", "/api/v1/auth/logout"):
            continue  # the refresh token (a cookie) is their credential
        security = operation.get("security")
        url = _concrete(path)
        anonymous = await client.request(method, url, json={} if method != "GET" else None)
        required = security is not None and {} not in security
        assert (anonymous.status_code == 401) == required, (method, path, anonymous.text)
        if required and {"apiKeyAuth": []} not in security:
            keyed = await client.request(method, url, headers=key, json={})
            assert keyed.status_code == 403, (method, path, keyed.text)
        checked += 1
    assert checked > 40
    # Routes that read the caller themselves (a draft product shows to editors) say so too.
    for version in ("v1", "v2"):
        product = document["paths"][f"/api/{version}/products/{{product_id}}"]["get"]
        assert product["security"] == [{}, {"bearerAuth": []}, {"apiKeyAuth": []}]


async def test_conditional_request_headers_are_declared(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    for method, path, operation in _operations(document):
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        if method == "GET" and path.startswith("/api/"):
            assert "If-None-Match" in headers, path
    writes = {
        (method, path)
        for method, path, operation in _operations(document)
        if any(p["name"] == "If-Match" for p in operation.get("parameters", []))
    }
    assert writes == {
        *(
            (method, f"/api/{version}/products/{{product_id}}")
            for version in ("v1", "v2")
            for method in ("PUT", "PATCH", "DELETE")
        ),
        ("PATCH", "/api/v1/users/me"),
        ("PATCH", "/api/v1/users/{user_id}"),
        ("PATCH", "/api/v1/orders/{order_id}"),
    }


async def test_tags_are_described_and_the_description_promises_only_what_is_served(
    client: httpx.AsyncClient,
) -> None:
    document = await _document(client)
    described = {tag["name"] for tag in document["tags"] if tag.get("description")}
    used = {tag for _, _, operation in _operations(document) for tag in operation["tags"]}
    assert used <= described
    overview = document["info"]["description"].strip().split("\n\n")[0]
    for promised, path in (("webhooks", "/webhook"), ("AI", "/ai/")):
        if promised in overview:
            assert any(path in documented for documented in document["paths"]), promised
