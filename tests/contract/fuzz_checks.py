"""Agora's own schemathesis check, loaded by tests/contract/test_fuzz.py: every 4xx and 5xx
is the error envelope of docs/api.md ("Conventions"), with the trace id of its response."""

from typing import Any

import orjson
import schemathesis

ENVELOPE_KEYS = {"success", "message", "statusCode", "errors", "traceId"}


@schemathesis.check
def error_envelope(ctx: Any, response: Any, case: Any) -> None:
    """An error answer is `{success: false, message, statusCode, errors[], traceId}`."""
    del ctx, case
    status = response.status_code
    if status < 400:
        return
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith("application/json"), f"{status} answered as {content_type!r}"
    body = orjson.loads(response.content)
    assert isinstance(body, dict) and set(body) == ENVELOPE_KEYS, f"not the envelope: {body!r}"
    assert body["success"] is False and body["statusCode"] == status, body
    assert isinstance(body["message"], str) and body["message"], body
    request_id = response.headers.get("x-request-id", [None])
    request_id = request_id[0] if isinstance(request_id, list) else request_id
    assert body["traceId"] == request_id, "traceId differs from X-Request-ID"
    assert isinstance(body["errors"], list) and body["errors"], "an error lists its causes"
    for error in body["errors"]:
        assert set(error) == {"field", "code", "message"}, error
        assert isinstance(error["code"], str) and error["code"], error


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:
    """Shape schema-valid requests by the two rules of collections a schema cannot state.

    - A `cursor` is an opaque value signed by Agora (`meta.nextCursor`): no generated string
      is one, and a forged or altered cursor is a 400 by contract (tests/unit/test_cursors.py).
    - Cursor pagination (`limit`, `cursor`) and page pagination (`page`, `pageSize`) exclude
      each other (400 `mixed_pagination`, tests/integration/platform/test_collections.py).

    Requests meant to be invalid keep everything.
    """
    del ctx
    meta = case.meta
    if meta is None or meta.generation.mode.name != "POSITIVE" or not case.query:
        return case
    query = dict(case.query)
    query.pop("cursor", None)
    if "limit" in query:
        query.pop("page", None)
        query.pop("pageSize", None)
    case.query = query
    return case
