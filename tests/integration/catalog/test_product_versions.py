"""API versions: /api/v2/products with a price object, header versioning, v1 deprecation."""

import httpx
from fastapi import FastAPI

from tests.support.assertions import assert_error
from tests.support.auth import Caller
from tests.support.catalog import make_product

V2 = "application/vnd.agora.api+json; version=2"


async def test_v2_represents_money_as_a_price_object(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    product = await make_product(client, editor, priceCents=1999, currency="EUR")
    response = await client.get(f"/api/v2/products/{product['id']}")
    data = response.json()["data"]
    assert data["price"] == {"amount": "19.99", "currency": "EUR"}
    assert "priceCents" not in data and "currency" not in data
    assert "deprecation" not in response.headers and "sunset" not in response.headers
    yen = await make_product(client, editor, priceCents=500, currency="JPY")
    assert (await client.get(f"/api/v2/products/{yen['id']}")).json()["data"]["price"][
        "amount"
    ] == "500"


async def test_v2_writes_take_a_price_object(client: httpx.AsyncClient, editor: Caller) -> None:
    body = {"sku": "V2-SKU-1", "name": "Kettle", "price": {"amount": "24.50", "currency": "USD"}}
    created = await client.post("/api/v2/products", json=body, headers=editor.headers)
    assert created.status_code == 201, created.text
    product_id = created.json()["data"]["id"]
    assert created.headers["location"].endswith(f"/api/v2/products/{product_id}")
    v1 = (await client.get(f"/api/v1/products/{product_id}", headers=editor.headers)).json()["data"]
    assert v1["priceCents"] == 2450 and v1["currency"] == "USD"
    too_precise = await client.post(
        "/api/v2/products",
        json={**body, "sku": "V2-SKU-2", "price": {"amount": "24.505", "currency": "USD"}},
        headers=editor.headers,
    )
    assert_error(too_precise, 400, "invalid_format")  # no currency has three decimals
    yen_cents = await client.post(
        "/api/v2/products",
        json={**body, "sku": "V2-SKU-3", "price": {"amount": "5.5", "currency": "JPY"}},
        headers=editor.headers,
    )
    assert_error(yen_cents, 422, "invalid_amount")  # a rule of the currency
    v1_body = await client.post(
        "/api/v2/products", json={**body, "priceCents": 1}, headers=editor.headers
    )
    assert_error(v1_body, 400, "unknown_field")


async def test_v2_patch_speaks_v2(client: httpx.AsyncClient, editor: Caller) -> None:
    product = await make_product(client, editor, priceCents=1000)
    response = await client.patch(
        f"/api/v2/products/{product['id']}",
        json={"price": {"amount": "12.00", "currency": "USD"}},
        headers=editor.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["price"]["amount"] == "12.00"


async def test_v1_announces_its_successor(client: httpx.AsyncClient, editor: Caller) -> None:
    product = await make_product(client, editor)
    response = await client.get(f"/api/v1/products/{product['id']}")
    assert response.headers["deprecation"].startswith("@")
    assert response.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert (
        response.headers["link"]
        == f'<http://agora.test/api/v2/products/{product["id"]}>; rel="successor-version"'
    )
    listing = await client.get("/api/v1/products")
    assert listing.headers["link"] == '<http://agora.test/api/v2/products>; rel="successor-version"'


async def test_unversioned_paths_follow_the_accept_header(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    product = await make_product(client, editor, priceCents=750)
    default = await client.get(f"/api/products/{product['id']}")
    assert default.json()["data"]["priceCents"] == 750
    assert "Accept" in default.headers["vary"]
    v2 = await client.get(f"/api/products/{product['id']}", headers={"Accept": V2})
    assert v2.json()["data"]["price"]["amount"] == "7.50"
    assert "Accept" in v2.headers["vary"]
    v1 = await client.get(
        f"/api/products/{product['id']}",
        headers={"Accept": "application/vnd.agora.api+json; version=1"},
    )
    assert v1.json()["data"]["priceCents"] == 750


async def test_unknown_versions_and_unchanged_resources(
    app: FastAPI, client: httpx.AsyncClient, customer: Caller
) -> None:
    nope = await client.get(
        "/api/products", headers={"Accept": "application/vnd.agora.api+json; version=9"}
    )
    body = assert_error(nope, 406, "unsupported_version")
    assert "versions: 1, 2" in body["message"]
    # Users have one shape: asking for v2 of them is served by v1.
    me = await client.get("/api/users/me", headers={**customer.headers, "Accept": V2})
    assert me.status_code == 200 and me.json()["data"]["id"] == customer.id
    assert_error(await client.get("/api/v2/users/me", headers=customer.headers), 404)
