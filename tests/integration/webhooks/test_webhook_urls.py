"""Registering a webhook: URLs that would reach inside Agora's network are refused (after DNS
resolution), and so are unknown event types; the instance here allows no private network."""

import httpx
import pytest

from tests.support.auth import Caller

ENDPOINTS = "/api/v1/webhook-endpoints"

REFUSED = [
    ("http://127.0.0.1/hooks", "url_address_not_allowed"),
    ("http://[::1]:8080/hooks", "url_address_not_allowed"),
    ("http://169.254.169.254/latest/meta-data", "url_address_not_allowed"),
    ("http://0x7f000001/hooks", "url_address_not_allowed"),  # 127.0.0.1, spelled in hex
    ("http://2130706433/hooks", "url_address_not_allowed"),  # and as one number
    ("http://localhost:9000/hooks", "url_address_not_allowed"),  # a name for loopback
    ("http://10.0.0.1/hooks", "url_address_not_allowed"),
    ("http://192.168.1.20/hooks", "url_address_not_allowed"),
    ("http://[::ffff:127.0.0.1]/hooks", "url_address_not_allowed"),
    ("http://0.0.0.0/hooks", "url_address_not_allowed"),
    ("http://224.0.0.1/hooks", "url_address_not_allowed"),
    ("http://[fe80::1]/hooks", "url_address_not_allowed"),
    ("file:///etc/passwd", "url_scheme_not_allowed"),
    ("gopher://shop.example/_hooks", "url_scheme_not_allowed"),
    ("ftp://shop.example/hooks", "url_scheme_not_allowed"),
    ("http://admin:secret@shop.example/hooks", "url_credentials_not_allowed"),
    ("http://:80/hooks", "url_invalid"),
    ("http://shop.example:99999/hooks", "url_invalid"),
    ("not a url", "url_invalid"),
    ("nota-url", "url_scheme_not_allowed"),
    ("http://no-such-host.invalid/hooks", "url_unresolvable"),
]


@pytest.mark.parametrize(("url", "code"), REFUSED)
async def test_unsafe_urls_are_refused_at_registration(
    client: httpx.AsyncClient, admin: Caller, url: str, code: str
) -> None:
    response = await client.post(
        ENDPOINTS, json={"url": url, "events": ["order.paid"]}, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error == {"field": "url", "code": code, "message": error["message"]}
    assert response.json()["traceId"]


async def test_a_url_too_long_is_a_validation_error(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    url = "https://shop.example/" + "a" * 10_000
    response = await client.post(
        ENDPOINTS, json={"url": url, "events": ["order.paid"]}, headers=admin.headers
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "url"


async def test_unknown_event_types_are_named(client: httpx.AsyncClient, admin: Caller) -> None:
    response = await client.post(
        ENDPOINTS,
        json={"url": "http://10.1.2.3/x", "events": ["order.paid", "order.teleported", "x"]},
        headers=admin.headers,
    )
    assert response.status_code == 422
    assert {(e["field"], e["code"]) for e in response.json()["errors"]} == {
        ("url", "url_address_not_allowed"),  # every problem at once
        ("events[1]", "unknown_event_type"),
        ("events[2]", "unknown_event_type"),
    }


async def test_an_update_to_an_unsafe_url_is_refused(
    client: httpx.AsyncClient, admin: Caller, customer: Caller
) -> None:
    missing = "01a20000-0000-7000-8000-000000000000"
    response = await client.patch(
        f"{ENDPOINTS}/{missing}", json={"url": "http://127.0.0.1/"}, headers=admin.headers
    )
    assert response.status_code == 422  # the URL is checked before the endpoint is looked up
    assert (await client.get(f"{ENDPOINTS}/{missing}", headers=admin.headers)).status_code == 404
    # Customers may not see or manage webhooks.
    assert (await client.get(ENDPOINTS, headers=customer.headers)).status_code == 403
    assert (await client.get(ENDPOINTS)).status_code == 401
