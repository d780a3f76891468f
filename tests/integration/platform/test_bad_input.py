"""Malformed requests get a precise error in the envelope, never a 500."""

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.assertions import assert_error

ECHO = "/api/v1/_chassis/echo"
UPLOAD = "/api/v1/_chassis/upload"
MiB = 1024 * 1024


async def test_wrong_content_type_is_415(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.post(
        ECHO, content=b"name=a&quantity=1", headers={"Content-Type": "text/plain"}
    )
    body = assert_error(response, 415, "unsupported_media_type")
    assert "application/json" in body["message"]


async def test_body_without_content_type_is_415(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.post(ECHO, content=b'{"name": "a", "quantity": 1}')
    assert_error(response, 415, "unsupported_media_type")


async def test_json_suffix_types_are_accepted(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.post(
        ECHO,
        content=b'{"name": "a", "quantity": 1}',
        headers={"Content-Type": "application/merge-patch+json; charset=utf-8"},
    )
    assert response.status_code == 201


async def test_json_sent_to_an_upload_route_is_415(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.post(UPLOAD, json={"file": "x"})
    assert_error(response, 415, "unsupported_media_type")


async def test_declared_oversized_body_is_413_before_reading(
    chassis_client: httpx.AsyncClient,
) -> None:
    consumed = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal consumed
        for _ in range(50):
            consumed += MiB
            yield b" " * MiB

    response = await chassis_client.post(
        ECHO,
        content=body(),
        headers={"Content-Type": "application/json", "Content-Length": str(50 * MiB)},
    )
    body_json = assert_error(response, 413, "payload_too_large")
    assert "1048576 bytes" in body_json["message"]
    assert consumed <= 1 * MiB


async def test_streamed_oversized_body_is_cut_off_at_the_limit(
    chassis_client: httpx.AsyncClient,
) -> None:
    """A chunked 50 MB body (no Content-Length) is refused after ~1 MiB, not buffered whole."""
    consumed = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal consumed
        yield b'{"name": "'
        for _ in range(50 * 16):
            consumed += 64 * 1024
            yield b"a" * (64 * 1024)
        yield b'", "quantity": 1}'

    response = await chassis_client.post(
        ECHO, content=body(), headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")
    assert consumed < 2 * MiB


async def test_upload_may_exceed_the_json_limit(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.post(
        UPLOAD, files={"file": ("big.bin", b"\x00" * (3 * MiB), "application/octet-stream")}
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"] == {"filename": "big.bin", "size": 3 * MiB}


async def test_upload_over_its_limit_is_413(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.post(
        UPLOAD, files={"file": ("huge.bin", b"\x00" * (11 * MiB), "application/octet-stream")}
    )
    assert_error(response, 413, "payload_too_large")


async def test_json_nested_ten_thousand_levels_is_400(chassis_client: httpx.AsyncClient) -> None:
    depth = 10_000
    response = await chassis_client.post(
        ECHO,
        content=b"[" * depth + b"]" * depth,
        headers={"Content-Type": "application/json"},
    )
    body = assert_error(response, 400, "malformed_json")
    assert "depth limit" in body["message"]


async def test_invalid_utf8_is_400(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.post(
        ECHO,
        content=b'{"name": "\xff\xfe", "quantity": 1}',
        headers={"Content-Type": "application/json"},
    )
    body = assert_error(response, 400, "malformed_json")
    assert "utf-8" in body["message"].lower()


async def test_non_numeric_content_length_is_400(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.post(
        ECHO, content=b"{}", headers={"Content-Type": "application/json", "Content-Length": "2x"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "value",
    [
        "has space",
        "tab\there",
        "x" * 129,
        "ünïcode",
        "",
    ],
)
async def test_insane_request_id_is_replaced_not_echoed(
    client: httpx.AsyncClient, value: str
) -> None:
    response = await client.get("/health", headers=[(b"X-Request-ID", value.encode())])
    assert response.status_code == 200
    generated = response.headers["x-request-id"]
    assert generated != value
    assert len(generated) == 32 and generated.isalnum()


async def test_control_characters_in_request_id_are_not_echoed(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/nope", headers=[(b"X-Request-ID", b"abc\x01\x7fdef")])
    body = assert_error(response, 404)
    assert "\x01" not in response.headers["x-request-id"]
    assert body["traceId"] == response.headers["x-request-id"]


async def test_absurd_header_values_do_not_break_anything(
    chassis_client: httpx.AsyncClient,
) -> None:
    headers = [
        (b"X-Request-ID", b"\x00" * 5000),
        (b"traceparent", b"garbage" * 1000),
        (b"Accept-Encoding", b"gzip" * 2000),
        (b"Content-Type", b"application/json; charset=" + b"x" * 8000),
        (b"If-None-Match", b'"' * 3000),
        (b"Origin", b"https://" + b"a" * 5000),
    ]
    response = await chassis_client.post(
        ECHO, content=b'{"name":"a","quantity":1}', headers=headers
    )
    assert response.status_code == 201, response.text
    assert len(response.headers["x-request-id"]) == 32


async def test_garbage_query_string_is_a_clean_error(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.get(
        "/api/v1/_chassis/items", params={"limit": "\xff" * 100, "sort": "%%%"}
    )
    body = assert_error(response, 400, "invalid_type")
    assert body["errors"][0]["field"] == "limit"
    with_nul = await chassis_client.get(
        "/api/v1/_chassis/items", params={"limit": "\x00\xff" * 100, "sort": "%%%"}
    )
    body = assert_error(with_nul, 400, "invalid_character")
    assert body["errors"][0]["field"] == "limit"
