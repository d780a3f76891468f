"""Small requests that used to cost a lot: a doubling JSON Patch, huge or countless headers."""

import time

import httpx
import pytest

from agora.platform.http.request_context import MAX_HEADER_BYTES, MAX_HEADERS, MAX_URL_BYTES
from agora.platform.patching import JSON_PATCH
from tests.support.assertions import assert_error
from tests.support.auth import Caller
from tests.support.catalog import PRODUCTS, make_product


def _doubling_patch(copies: int) -> list[dict[str, object]]:
    """Each `copy` puts the whole array into itself: the document doubles with every step."""
    return [
        {"op": "add", "path": "/description", "value": ["x" * 50]},
        *({"op": "copy", "from": "/description", "path": "/description/0"} for _ in range(copies)),
    ]


@pytest.mark.parametrize("copies", [21, 25, 99])
async def test_a_doubling_json_patch_is_refused_at_once(
    client: httpx.AsyncClient, editor: Caller, copies: int
) -> None:
    product = await make_product(client, editor)
    started = time.perf_counter()
    response = await client.patch(
        f"{PRODUCTS}/{product['id']}",
        json=_doubling_patch(copies),
        headers={**editor.headers, "Content-Type": JSON_PATCH},
    )
    elapsed = time.perf_counter() - started
    assert_error(response, 422, "patch_too_large")
    assert elapsed < 1.0, elapsed


async def test_copies_within_the_bound_still_apply(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    product = await make_product(client, editor, tags=["one"])
    operations = [
        {"op": "copy", "from": "/name", "path": "/description"},
        {"op": "copy", "from": "/tags/0", "path": "/tags/-"},
        {"op": "replace", "path": "/tags/1", "value": "two"},
    ]
    response = await client.patch(
        f"{PRODUCTS}/{product['id']}",
        json=operations,
        headers={**editor.headers, "Content-Type": JSON_PATCH},
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["description"] == data["name"] and data["tags"] == ["one", "two"]


async def test_too_many_headers_are_431(client: httpx.AsyncClient) -> None:
    headers = [(f"x-filler-{n}".encode(), b"1") for n in range(MAX_HEADERS + 1)]
    response = await client.get("/health", headers=headers)
    body = assert_error(response, 431, "headers_too_large")
    assert body["errors"][0]["field"] == "headers"
    assert response.headers["connection"] == "close"


async def test_oversized_headers_are_431(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"x-filler": "a" * (MAX_HEADER_BYTES + 1)})
    assert_error(response, 431, "headers_too_large")


async def test_headers_at_the_limits_pass(client: httpx.AsyncClient) -> None:
    headers = [(f"x-f{n:02}".encode(), b"1") for n in range(MAX_HEADERS - 10)]
    assert (await client.get("/health", headers=headers)).status_code == 200
    big = {"x-filler": "a" * (MAX_HEADER_BYTES // 2)}
    assert (await client.get("/health", headers=big)).status_code == 200


async def test_an_overlong_url_is_414(client: httpx.AsyncClient) -> None:
    response = await client.get(PRODUCTS, params={"q": "a" * MAX_URL_BYTES})
    assert_error(response, 414, "uri_too_long")
