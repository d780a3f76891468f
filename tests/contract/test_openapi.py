"""The OpenAPI document describes the error envelope, never FastAPI's default 422."""

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
