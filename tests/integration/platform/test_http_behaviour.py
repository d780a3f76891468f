"""Cross-cutting HTTP behaviour: security headers, CORS, gzip, HTTPS, HEAD, trace context."""

import gzip
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from agora.app import create_app
from agora.settings import Settings
from tests.support import chassis
from tests.support.assertions import assert_error

ORIGIN = "https://shop.example"


async def test_security_headers_on_success_and_error(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/health"), await client.get("/missing")):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["content-security-policy"].startswith("default-src 'none'")
        assert headers["cache-control"] == "no-store"
        assert "server" not in headers
        assert "strict-transport-security" not in headers  # plain HTTP


async def test_request_id_generated_when_absent(client: httpx.AsyncClient) -> None:
    first = (await client.get("/health")).headers["x-request-id"]
    second = (await client.get("/health")).headers["x-request-id"]
    assert first != second


async def test_traceparent_is_honoured_and_propagated(client: httpx.AsyncClient) -> None:
    incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = await client.get("/health", headers={"traceparent": incoming})
    version, trace_id, span_id, flags = response.headers["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert span_id != "00f067aa0ba902b7" and len(span_id) == 16


async def test_invalid_traceparent_is_not_joined(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/health",
        headers={"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
    )
    assert "traceparent" not in response.headers  # a new trace starts (see the access log)
    assert "traceparent" not in (await client.get("/health")).headers


async def test_head_works_on_get_routes(client: httpx.AsyncClient) -> None:
    get = await client.get("/health")
    head = await client.head("/health")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]


async def test_cors_preflight_from_allowed_origin_is_204(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/api/v1/anything",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key",
        },
    )
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]


async def test_cors_preflight_from_other_origin_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/api/v1/anything",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    body = assert_error(response, 400, "cors_refused")
    assert "origin" in body["message"]
    assert "access-control-allow-origin" not in response.headers


async def test_cors_simple_request_echoes_only_allowed_origin(client: httpx.AsyncClient) -> None:
    allowed = await client.get("/health", headers={"Origin": ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "X-Request-ID" in allowed.headers["access-control-expose-headers"]
    other = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


async def test_gzip_when_accepted_and_large(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.get(
        "/api/v1/_chassis/large", headers={"Accept-Encoding": "gzip"}
    )
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < 4000
    assert response.json()["data"][0] == "line 0 of a long and very compressible answer"
    small = await chassis_client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


async def test_no_gzip_when_not_accepted(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.get(
        "/api/v1/_chassis/large", headers={"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in response.headers
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(response.content)


@pytest.fixture
def app_with(make_settings: Callable[..., Settings]) -> Callable[..., Any]:
    """`async with app_with(**settings) as client:` an app on changed settings."""

    class _Context:
        def __init__(self, client_host: str = "127.0.0.1", **changes: Any) -> None:
            self.app = create_app(make_settings(**changes))
            self.app.include_router(chassis.router)
            self.client_host = client_host

        async def __aenter__(self) -> httpx.AsyncClient:
            self.lifespan = LifespanManager(self.app)
            await self.lifespan.__aenter__()
            transport = httpx.ASGITransport(app=self.app, client=(self.client_host, 5000))
            self.client = httpx.AsyncClient(transport=transport, base_url="http://api.example")
            return self.client

        async def __aexit__(self, *exc: object) -> None:
            await self.client.aclose()
            await self.lifespan.__aexit__(None, None, None)

    return _Context


async def test_https_enforced_redirects_plain_http(app_with: Callable[..., Any]) -> None:
    async with app_with(force_https=True) as client:
        response = await client.get("/api/v1/products?limit=2")
        assert response.status_code == 307
        assert response.headers["location"] == "https://api.example/api/v1/products?limit=2"
        health = await client.get("/health")
        assert health.status_code == 200  # probes are exempt


async def test_trusted_proxy_https_gets_hsts(app_with: Callable[..., Any]) -> None:
    async with app_with(force_https=True, trusted_proxies=["127.0.0.1"]) as client:
        response = await client.get("/health", headers={"X-Forwarded-Proto": "https"})
        assert response.status_code == 200
        assert response.headers["strict-transport-security"].startswith("max-age=63072000")
        redirected = await client.get("/docs", headers={"X-Forwarded-Proto": "http"})
        assert redirected.status_code == 307


async def test_untrusted_proxy_cannot_claim_https(app_with: Callable[..., Any]) -> None:
    async with app_with(
        client_host="203.0.113.9", force_https=True, trusted_proxies=["127.0.0.1"]
    ) as client:
        response = await client.get("/docs", headers={"X-Forwarded-Proto": "https"})
        assert response.status_code == 307
        assert "strict-transport-security" not in response.headers


async def test_forwarded_for_is_honoured_only_from_trusted_proxies(
    app_with: Callable[..., Any],
) -> None:
    headers = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    async with app_with(client_host="10.1.2.3", trusted_proxies=["10.0.0.0/8"]) as client:
        seen = (await client.get("/api/v1/_chassis/whoami", headers=headers)).json()["data"]
        assert seen == {"client": "198.51.100.7", "scheme": "https"}
    async with app_with(client_host="10.1.2.3", trusted_proxies=["127.0.0.1"]) as client:
        seen = (await client.get("/api/v1/_chassis/whoami", headers=headers)).json()["data"]
        assert seen == {"client": "10.1.2.3", "scheme": "http"}
