"""The HTTP corridor: the layers share one reading of the request's headers, and a 304 stands
for exactly the 200 it replaces, whichever part of Agora produced that 200."""

import sys
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from tests.conftest import http_client
from tests.support.auth import Caller
from tests.support.catalog import PRODUCTS, make_product


class _ReadLog(list[tuple[bytes, bytes]]):
    """A request's header list that records which Agora modules walk through it."""

    def __init__(self, headers: Any, readers: list[str]) -> None:
        super().__init__(headers)
        self.readers = readers

    def _note(self) -> None:
        module = sys._getframe(2).f_globals.get("__name__", "")
        if module.startswith("agora."):
            self.readers.append(module)

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        self._note()
        return super().__iter__()

    def __reversed__(self) -> Iterator[tuple[bytes, bytes]]:
        self._note()
        return super().__reversed__()


async def test_the_layers_read_the_request_headers_once(
    app: FastAPI, editor: Caller, customer: Caller
) -> None:
    readers: list[str] = []

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["headers"] = _ReadLog(scope["headers"], readers)
        await app(scope, receive, send)

    async with http_client(app) as plain:
        product = await make_product(plain, editor)
    url = f"{PRODUCTS}/{product['id']}"
    requests: list[tuple[str, str, dict[str, str], Any]] = [
        ("GET", url, {}, None),
        ("GET", url, {}, None),  # from the response cache
        ("GET", url, customer.headers, None),
        ("GET", url, {"Origin": "https://shop.example", "Accept-Encoding": "gzip"}, None),
        ("GET", "/api/products?limit=2", {"Accept": "application/vnd.agora.api+json"}, None),
        ("POST", "/api/v1/orders", {**customer.headers, "Idempotency-Key": "corridor-1"}, {}),
    ]
    async with http_client(recording) as client:
        for method, target, headers, body in requests:
            readers.clear()
            response = await client.request(method, target, headers=headers, json=body)
            assert response.status_code < 500, response.text
            assert readers == ["agora.platform.http.headers"], (method, target, readers)


async def test_a_304_of_a_gzip_response_carries_its_etag(
    client: httpx.AsyncClient, editor: Caller, customer: Caller
) -> None:
    """Signed in, a page is not kept by the response cache: the route answers, gzip encodes."""
    for _ in range(3):
        await make_product(client, editor)
    headers = {**customer.headers, "Accept-Encoding": "gzip"}
    page = await client.get(PRODUCTS, params={"limit": 20}, headers=headers)
    assert page.headers["content-encoding"] == "gzip"
    etag = page.headers["etag"]
    assert etag.endswith('-gzip"')
    again = await client.get(
        PRODUCTS, params={"limit": 20}, headers={**headers, "If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.headers["etag"] == etag  # the ETag of the 200 it stands for (RFC 9110 15.4.5)
    assert again.headers["cache-control"] == page.headers["cache-control"]
    assert "content-encoding" not in again.headers and again.content == b""


async def test_anonymous_and_signed_in_304s_come_from_one_place(
    client: httpx.AsyncClient, editor: Caller, customer: Caller
) -> None:
    """The response cache serves the anonymous 200, the route the signed-in one; both 304s
    keep the same headers of their 200, minus the body's."""
    product = await make_product(client, editor)
    url = f"{PRODUCTS}/{product['id']}"
    for caller in ({}, customer.headers):
        first = await client.get(url, headers={**caller, "Accept-Encoding": "identity"})
        second = await client.get(url, headers={**caller, "If-None-Match": first.headers["etag"]})
        assert second.status_code == 304
        kept = set(first.headers) - {"content-length", "content-type", "content-encoding"}
        volatile = {"x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset"}
        assert set(second.headers) == kept, set(second.headers) ^ kept
        for name in kept - volatile:
            assert second.headers[name] == first.headers[name], name
