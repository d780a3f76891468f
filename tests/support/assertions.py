"""Assertions shared by the integration and contract tests."""

from typing import Any

import httpx

from agora.platform.envelope import ErrorEnvelope


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """`response` is an error envelope with `status`, and `code` (if given) among its codes."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    ErrorEnvelope.model_validate(body)  # exactly the documented shape
    assert set(body) == {"success", "message", "statusCode", "errors", "traceId"}
    assert body["success"] is False
    assert body["statusCode"] == status
    assert body["traceId"] == response.headers["x-request-id"]
    assert body["errors"], "an error envelope always lists at least one error"
    if code is not None:
        assert code in {error["code"] for error in body["errors"]}, body
    return body
