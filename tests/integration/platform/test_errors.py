"""Every error answers in the envelope of docs/api.md, with the right status and a trace id."""

import httpx
import pytest

from tests.support.assertions import assert_error

ECHO = "/api/v1/_chassis/echo"


async def test_unknown_route_is_404_in_the_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/no-such-thing")
    body = assert_error(response, 404, "route_not_found")
    assert "/api/v1/no-such-thing" in body["message"]


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, HEAD"


async def test_trace_id_equals_request_id_header(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope", headers={"X-Request-ID": "client-chosen-id-1"})
    assert response.headers["x-request-id"] == "client-chosen-id-1"
    assert response.json()["traceId"] == "client-chosen-id-1"


async def test_malformed_json_is_400(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.post(
        ECHO, content=b'{"name": "a", "quantity": ', headers={"Content-Type": "application/json"}
    )
    body = assert_error(response, 400, "malformed_json")
    assert body["errors"][0]["field"] == "body"
    assert "not valid JSON" in body["message"]


async def test_missing_body_is_400(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.post(ECHO, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "body_required")


async def test_invalid_fields_are_400_with_one_entry_per_field(
    chassis_client: httpx.AsyncClient,
) -> None:
    response = await chassis_client.post(
        ECHO,
        json={
            "quantity": "many",
            "tags": ["a", 2],
            "address": {"city": "", "postalCode": "!"},
            "role": "admin",
        },
    )
    body = assert_error(response, 400)
    assert body["message"] == "The request is not valid; see errors for each field."
    found = {(error["field"], error["code"]) for error in body["errors"]}
    assert found == {
        ("name", "required"),
        ("quantity", "invalid_type"),
        ("tags[1]", "invalid_type"),
        ("address.city", "too_short"),
        ("address.postalCode", "invalid_format"),
        ("role", "unknown_field"),
    }
    assert all(error["message"] for error in body["errors"])


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"name": "a", "quantity": 0}, "quantity", "out_of_range"),
        ({"name": "a", "quantity": 1.5}, "quantity", "invalid_type"),
        ({"name": "a", "quantity": True}, "quantity", "invalid_type"),
        ({"name": "a", "quantity": "5"}, "quantity", "invalid_type"),
        ({"name": "a" * 51, "quantity": 1}, "name", "too_long"),
        ({"name": "a", "quantity": 1, "tags": "x"}, "tags", "invalid_type"),
        ({"name": "a", "quantity": 1, "tags": ["t"] * 6}, "tags", "too_long"),
        ({"name": None, "quantity": 1}, "name", "invalid_type"),
    ],
)
async def test_wrong_types_and_ranges_are_400(
    chassis_client: httpx.AsyncClient, payload: dict[str, object], field: str, code: str
) -> None:
    response = await chassis_client.post(ECHO, json=payload)
    body = assert_error(response, 400, code)
    assert [(error["field"], error["code"]) for error in body["errors"]] == [(field, code)]


async def test_json_array_instead_of_object_is_400(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.post(ECHO, json=[1, 2, 3])
    assert_error(response, 400, "invalid_type")


async def test_business_rule_is_422_with_its_code(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.post(
        "/api/v1/_chassis/rules", json={"name": "widget", "quantity": 3}
    )
    body = assert_error(response, 422, "insufficient_stock")
    assert body["errors"][0]["field"] == "quantity"


async def test_unhandled_exception_is_a_plain_500(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.get("/api/v1/_chassis/boom")
    body = assert_error(response, 500, "internal_error")
    text = response.text
    assert "SELECT" not in text and "password" not in text
    assert "Traceback" not in text and "RuntimeError" not in text
    assert body["message"] == "Internal server error."


async def test_valid_request_is_201_in_the_success_envelope(
    chassis_client: httpx.AsyncClient,
) -> None:
    response = await chassis_client.post(
        ECHO,
        json={
            "name": "  widget  ",  # stored as sent: what the schema allows, Agora accepts
            "quantity": 2,
            "address": {"city": "Oslo", "postalCode": "0150"},
        },
    )
    assert response.status_code == 201
    assert response.json() == {
        "success": True,
        "data": {
            "name": "  widget  ",
            "quantity": 2,
            "tags": [],
            "address": {"city": "Oslo", "postalCode": "0150"},
        },
    }
