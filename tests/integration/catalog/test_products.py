"""Products: the REST resource with every practice of docs/api.md at once."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from agora.platform.events import EventRecord
from tests.support.assertions import assert_error
from tests.support.auth import Caller
from tests.support.catalog import PRODUCTS, make_category, make_product, product_body


async def _events(app: FastAPI, product_id: str) -> list[str]:
    async with app.state.runtime.database.session() as session:
        rows = await session.scalars(
            select(EventRecord.type)
            .where(EventRecord.subject_id == product_id)
            .order_by(EventRecord.id)
        )
        return list(rows)


async def test_create_product(app: FastAPI, client: httpx.AsyncClient, editor: Caller) -> None:
    body = product_body(status="draft", tags=["Coffee", "coffee ", "barista"])
    response = await client.post(PRODUCTS, json=body, headers=editor.headers)
    assert response.status_code == 201, response.text
    product = response.json()["data"]
    assert response.headers["location"].endswith(f"{PRODUCTS}/{product['id']}")
    assert product["sku"] == body["sku"] and product["status"] == "draft"
    assert product["tags"] == ["coffee", "barista"] and product["stock"] == 0
    assert set(product) == {
        "id",
        "sku",
        "name",
        "description",
        "priceCents",
        "currency",
        "status",
        "categoryId",
        "tags",
        "stock",
        "createdAt",
        "updatedAt",
    }
    assert product["createdAt"].endswith("Z")
    assert await _events(app, product["id"]) == ["product.created"]


async def test_who_may_create(client: httpx.AsyncClient, customer: Caller, admin: Caller) -> None:
    assert_error(await client.post(PRODUCTS, json=product_body()), 401)
    assert_error(await client.post(PRODUCTS, json=product_body(), headers=customer.headers), 403)
    key = await client.post(
        "/api/v1/api-keys",
        json={"name": "pim", "scopes": ["products:write"]},
        headers=admin.headers,
    )
    created = await client.post(
        PRODUCTS, json=product_body(), headers={"X-API-Key": key.json()["data"]["key"]}
    )
    assert created.status_code == 201


async def test_duplicate_sku_is_409(client: httpx.AsyncClient, editor: Caller) -> None:
    product = await make_product(client, editor)
    duplicate = await client.post(
        PRODUCTS, json=product_body(sku=product["sku"]), headers=editor.headers
    )
    assert_error(duplicate, 409, "duplicate_sku")


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"priceCents": -1}, "priceCents", "out_of_range"),
        ({"priceCents": "12.90"}, "priceCents", "invalid_type"),
        ({"priceCents": 12.9}, "priceCents", "invalid_type"),
        ({"priceCents": 10**12}, "priceCents", "out_of_range"),
        ({"currency": "XYZ"}, "currency", "invalid_choice"),
        ({"sku": "has space"}, "sku", "invalid_format"),
        ({"name": ""}, "name", "too_short"),
        ({"tags": [f"t{n}" for n in range(21)]}, "tags", "too_long"),
        ({"tags": ["no/slash"]}, "tags[0]", "invalid_format"),
        ({"status": "sold"}, "status", "invalid_choice"),
        ({"stock": 5}, "stock", "unknown_field"),
        ({"id": "x"}, "id", "unknown_field"),
    ],
)
async def test_invalid_bodies_are_400(
    client: httpx.AsyncClient, editor: Caller, changes: dict[str, Any], field: str, code: str
) -> None:
    response = await client.post(PRODUCTS, json=product_body(**changes), headers=editor.headers)
    body = assert_error(response, 400, code)
    assert field in {error["field"] for error in body["errors"]}


async def test_business_rules_on_create_are_422(client: httpx.AsyncClient, editor: Caller) -> None:
    unknown = await client.post(
        PRODUCTS, json=product_body(categoryId=str(uuid.uuid4())), headers=editor.headers
    )
    assert_error(unknown, 422, "unknown_category")
    archived = await client.post(
        PRODUCTS, json=product_body(status="archived"), headers=editor.headers
    )
    assert_error(archived, 422, "illegal_status_transition")


async def test_visibility_and_caching(
    client: httpx.AsyncClient, editor: Caller, customer: Caller
) -> None:
    active = await make_product(client, editor)
    draft = await make_product(client, editor, status="draft")
    public = await client.get(f"{PRODUCTS}/{active['id']}")
    assert public.status_code == 200
    assert public.headers["cache-control"] == "public, max-age=60"
    assert "Authorization" in public.headers["vary"]
    assert public.headers["etag"].startswith('"')
    assert_error(await client.get(f"{PRODUCTS}/{draft['id']}"), 404, "product_not_found")
    assert_error(await client.get(f"{PRODUCTS}/{draft['id']}", headers=customer.headers), 404)
    private = await client.get(f"{PRODUCTS}/{draft['id']}", headers=editor.headers)
    assert private.status_code == 200
    assert private.headers["cache-control"] == "private, no-store"


async def test_conditional_get_and_head(client: httpx.AsyncClient, editor: Caller) -> None:
    product = await make_product(client, editor)
    url = f"{PRODUCTS}/{product['id']}"
    first = await client.get(url)
    cached = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""
    assert cached.headers["etag"] == first.headers["etag"]
    assert cached.headers["cache-control"] == "public, max-age=60"
    head = await client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == first.headers["etag"]
    assert (await client.head(PRODUCTS)).status_code == 200


async def test_put_replaces_everything(
    client: httpx.AsyncClient, editor: Caller, admin: Caller
) -> None:
    category = await make_category(client, admin)
    product = await make_product(client, editor, categoryId=category["id"], tags=["a", "b"])
    url = f"{PRODUCTS}/{product['id']}"
    replacement = {"sku": product["sku"], "name": "Renamed", "priceCents": 5000}
    assert_error(await client.put(url, json=replacement, headers=editor.headers), 400, "required")
    replacement["status"] = "active"
    response = await client.put(url, json=replacement, headers=editor.headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["name"] == "Renamed" and data["priceCents"] == 5000 and data["currency"] == "USD"
    assert data["description"] == "" and data["tags"] == [] and data["categoryId"] is None


async def test_status_moves_only_forward(client: httpx.AsyncClient, editor: Caller) -> None:
    product = await make_product(client, editor, status="draft")
    url = f"{PRODUCTS}/{product['id']}"

    async def move(status: str) -> httpx.Response:
        return await client.patch(url, json={"status": status}, headers=editor.headers)

    assert_error(await move("archived"), 422, "illegal_status_transition")
    assert (await move("active")).json()["data"]["status"] == "active"
    assert_error(await move("draft"), 422, "illegal_status_transition")
    assert (await move("archived")).json()["data"]["status"] == "archived"
    assert_error(await move("active"), 422, "illegal_status_transition")


async def test_merge_patch(app: FastAPI, client: httpx.AsyncClient, editor: Caller) -> None:
    product = await make_product(client, editor, description="Old text")
    url = f"{PRODUCTS}/{product['id']}"
    renamed = await client.patch(url, json={"name": "New name"}, headers=editor.headers)
    assert renamed.status_code == 200
    data = renamed.json()["data"]
    assert data["name"] == "New name" and data["description"] == "Old text"
    assert data["priceCents"] == product["priceCents"]
    cleared = await client.patch(
        url,
        content=b'{"description": null}',
        headers={**editor.headers, "Content-Type": "application/merge-patch+json"},
    )
    assert cleared.json()["data"]["description"] == ""
    assert_error(
        await client.patch(url, json={"stock": 9}, headers=editor.headers), 400, "unknown_field"
    )
    assert_error(await client.patch(url, json={"priceCents": "free"}, headers=editor.headers), 400)
    assert await _events(app, product["id"]) == [
        "product.created",
        "product.updated",
        "product.updated",
    ]


async def test_json_patch(client: httpx.AsyncClient, editor: Caller) -> None:
    product = await make_product(client, editor, tags=["coffee"])
    url = f"{PRODUCTS}/{product['id']}"
    headers = {**editor.headers, "Content-Type": "application/json-patch+json"}

    async def patch(operations: Any) -> httpx.Response:
        import json

        return await client.patch(url, content=json.dumps(operations).encode(), headers=headers)

    changed = await patch(
        [
            {"op": "test", "path": "/priceCents", "value": product["priceCents"]},
            {"op": "replace", "path": "/priceCents", "value": 999},
            {"op": "add", "path": "/tags/-", "value": "sale"},
        ]
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["priceCents"] == 999
    assert changed.json()["data"]["tags"] == ["coffee", "sale"]
    assert_error(
        await patch([{"op": "test", "path": "/priceCents", "value": 1}]), 422, "patch_failed"
    )
    assert_error(await patch([{"op": "replace", "path": "/id", "value": "x"}]), 422, "patch_failed")
    assert_error(await patch([{"op": "explode", "path": "/name"}]), 400, "malformed_patch")
    assert_error(await patch({"op": "replace"}), 400, "malformed_patch")
    assert_error(await patch([{"from": "", "op": {}, "path": ""}]), 400, "malformed_patch")
    stray = [{"op": "replace", "path": "/name", "amount": "x", "value": "y"}]
    assert_error(await patch(stray), 400, "malformed_patch")  # unknown members are refused
    # Valid operations that make an invalid product: 422 (RFC 5789), naming each field.
    invalid = await patch([{"op": "replace", "path": "/priceCents", "value": -5}])
    body = assert_error(invalid, 422, "out_of_range")
    assert body["errors"][0]["field"] == "priceCents"


async def test_lost_update_two_editors(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller
) -> None:
    from tests.support.auth import make_caller

    other = await make_caller(app, client, "editor")
    product = await make_product(client, editor)
    url = f"{PRODUCTS}/{product['id']}"
    etag = (await client.get(url, headers=editor.headers)).headers["etag"]
    assert etag == (await client.get(url, headers=other.headers)).headers["etag"]
    first = await client.patch(
        url, json={"name": "Mine"}, headers={**editor.headers, "If-Match": etag}
    )
    assert first.status_code == 200
    second = await client.patch(
        url, json={"name": "Theirs"}, headers={**other.headers, "If-Match": etag}
    )
    assert_error(second, 412, "precondition_failed")
    put = await client.put(
        url, json=product_body(sku=product["sku"]), headers={**other.headers, "If-Match": etag}
    )
    assert_error(put, 412)
    assert (await client.get(url)).json()["data"]["name"] == "Mine"
    fresh = first.headers["etag"]
    ok = await client.patch(
        url, json={"name": "Theirs"}, headers={**other.headers, "If-Match": fresh}
    )
    assert ok.status_code == 200


async def test_concurrent_conditional_writes(client: httpx.AsyncClient, editor: Caller) -> None:
    product = await make_product(client, editor)
    url = f"{PRODUCTS}/{product['id']}"
    etag = (await client.get(url, headers=editor.headers)).headers["etag"]
    responses = await asyncio.gather(
        *(
            client.patch(
                url, json={"name": f"Writer {n}"}, headers={**editor.headers, "If-Match": etag}
            )
            for n in range(8)
        )
    )
    assert sorted(r.status_code for r in responses).count(200) == 1


async def test_delete(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller
) -> None:
    product = await make_product(client, editor)
    url = f"{PRODUCTS}/{product['id']}"
    assert_error(await client.delete(url, headers=editor.headers), 403)
    assert_error(await client.delete(url, headers={**admin.headers, "If-Match": '"stale"'}), 412)
    for malformed in ("stale", "", '"unclosed', '"a", b'):  # not entity tags: a client bug
        refused = await client.delete(url, headers={**admin.headers, "If-Match": malformed})
        assert_error(refused, 400, "malformed_if_match")
    response = await client.delete(url, headers=admin.headers)
    assert response.status_code == 204 and response.content == b""
    assert_error(await client.get(url, headers=admin.headers), 404)
    assert_error(await client.delete(url, headers=admin.headers), 404)
    reused = await client.post(
        PRODUCTS, json=product_body(sku=product["sku"]), headers=editor.headers
    )
    assert reused.status_code == 201  # a deleted product's SKU is free again
    assert (await _events(app, product["id"]))[-1] == "product.deleted"


async def test_unknown_product_and_bad_ids(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(f"{PRODUCTS}/{uuid.uuid4()}"), 404, "product_not_found")
    # Ids are UUIDs: nothing can be found at any other id (as Stripe answers: 404).
    assert_error(await client.get(f"{PRODUCTS}/not-a-uuid"), 404)
