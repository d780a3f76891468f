import httpx

from tests.support.assertions import assert_error
from tests.support.auth import Caller
from tests.support.random_refs import unique


async def test_create_and_list_categories(client: httpx.AsyncClient, admin: Caller) -> None:
    name = unique("Tea & Infusions")
    created = await client.post("/api/v1/categories", json={"name": name}, headers=admin.headers)
    assert created.status_code == 201, created.text
    category = created.json()["data"]
    assert category["slug"].startswith("tea-infusions-")
    assert created.headers["location"].endswith(f"/api/v1/categories/{category['id']}")
    fetched = await client.get(f"/api/v1/categories/{category['id']}")
    assert fetched.json()["data"] == category
    listed = await client.get("/api/v1/categories", params={"limit": 100})
    assert listed.headers["cache-control"] == "public, max-age=60"
    names = [item["name"] for item in listed.json()["data"]]
    assert names == sorted(names)


async def test_category_rules(client: httpx.AsyncClient, admin: Caller, editor: Caller) -> None:
    name = unique("Maps")
    assert (
        await client.post("/api/v1/categories", json={"name": name}, headers=admin.headers)
    ).status_code == 201
    duplicate = await client.post(
        "/api/v1/categories", json={"name": name.upper()}, headers=admin.headers
    )
    assert_error(duplicate, 409, "duplicate_category")
    assert_error(
        await client.post("/api/v1/categories", json={"name": "X"}, headers=editor.headers), 403
    )
    assert_error(await client.post("/api/v1/categories", json={"name": "X"}), 401)
    bad_slug = await client.post(
        "/api/v1/categories", json={"name": "Y", "slug": "Not A Slug"}, headers=admin.headers
    )
    assert_error(bad_slug, 400, "invalid_format")
    assert_error(await client.get("/api/v1/categories/00000000-0000-7000-8000-000000000000"), 404)
