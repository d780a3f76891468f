"""GET /products: filters, sorts, fields, cursor and offset pages, and the indexes behind them."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from agora.catalog.seed import seed_products
from agora.platform.migrate import upgrade
from agora.platform.querying import build_query
from agora.platform.runtime import Runtime
from agora.settings import Settings
from tests.support.assertions import assert_error
from tests.support.auth import Caller
from tests.support.backends import scratch_database
from tests.support.catalog import PRODUCTS, make_category, make_product


async def _catalog(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, count: int = 9
) -> dict[str, Any]:
    """A category of its own with `count` products of varied prices, tags and statuses."""
    category = await make_category(client, admin)
    products = []
    for n in range(count):
        products.append(
            await make_product(
                client,
                editor,
                name=f"{['Espresso', 'Grinder', 'Kettle'][n % 3]} model {n}",
                description=f"Handmade in batch {n}; ideal for {'travel' if n % 2 else 'home'} use",
                priceCents=1000 + (n % 4) * 500,
                tags=["sale"] if n % 3 == 0 else ["new"],
                categoryId=category["id"],
                status="draft" if n == count - 1 else "active",
            )
        )
    return {"category": category, "products": products}


async def _walk(
    client: httpx.AsyncClient, params: dict[str, Any], headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        page = await client.get(
            PRODUCTS, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert page.status_code == 200, page.text
        seen.extend(page.json()["data"])
        cursor = page.json()["meta"]["nextCursor"]
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


async def test_filters(client: httpx.AsyncClient, editor: Caller, admin: Caller) -> None:
    catalog = await _catalog(client, editor, admin)
    base = {"categoryId": catalog["category"]["id"]}
    everything = await _walk(client, base)
    assert len(everything) == 8  # the draft is hidden from the public
    assert all(p["status"] == "active" for p in everything)
    cheap = await _walk(client, {**base, "maxPriceCents": 1500})
    assert cheap and all(p["priceCents"] <= 1500 for p in cheap)
    pricey = await _walk(client, {**base, "minPriceCents": 2000})
    assert pricey and all(p["priceCents"] >= 2000 for p in pricey)
    assert len(cheap) + len(pricey) == 8
    on_sale = await _walk(client, {**base, "tag": "SALE"})
    assert on_sale and all("sale" in p["tags"] for p in on_sale)
    kettles = await _walk(client, {**base, "q": "kettle"})
    assert kettles and all("Kettle" in p["name"] for p in kettles)
    travel = await _walk(client, {**base, "q": "travel"})
    assert {p["id"] for p in travel} == {
        p["id"] for p in everything if "travel" in p["description"]
    }
    assert await _walk(client, {**base, "q": "100%_"}) == []  # wildcards match themselves
    drafts = await _walk(client, {**base, "status": "draft"}, headers=editor.headers)
    assert [p["id"] for p in drafts] == [catalog["products"][-1]["id"]]
    assert_error(await client.get(PRODUCTS, params={**base, "status": "draft"}), 403)


async def test_sorting(client: httpx.AsyncClient, editor: Caller, admin: Caller) -> None:
    catalog = await _catalog(client, editor, admin)
    base = {"categoryId": catalog["category"]["id"], "limit": 3}
    by_price = await _walk(client, {**base, "sort": "-priceCents,name"})
    keys = [(-p["priceCents"], p["name"]) for p in by_price]
    assert keys == sorted(keys)
    by_name = await _walk(client, {**base, "sort": "name"})
    assert [p["name"] for p in by_name] == sorted(p["name"] for p in by_name)
    newest = await _walk(client, {**base})
    active = [p for p in catalog["products"] if p["status"] == "active"]
    assert [p["id"] for p in newest] == [p["id"] for p in reversed(active)]


async def test_offset_pages_and_fields(
    client: httpx.AsyncClient, editor: Caller, admin: Caller
) -> None:
    catalog = await _catalog(client, editor, admin)
    base = {"categoryId": catalog["category"]["id"], "sort": "name"}
    page = (await client.get(PRODUCTS, params={**base, "page": 2, "pageSize": 3})).json()
    assert page["meta"] == {"page": 2, "pageSize": 3, "total": 8}
    walked = await _walk(client, base)
    assert [p["id"] for p in page["data"]] == [p["id"] for p in walked[3:6]]
    sparse = (await client.get(PRODUCTS, params={**base, "fields": "name,priceCents"})).json()
    assert all(set(p) == {"id", "name", "priceCents"} for p in sparse["data"])


async def test_pages_stay_stable_while_products_are_added(
    client: httpx.AsyncClient, editor: Caller, admin: Caller
) -> None:
    catalog = await _catalog(client, editor, admin, count=7)
    base = {"categoryId": catalog["category"]["id"], "limit": 2}
    first = (await client.get(PRODUCTS, params=base)).json()
    # New products are newer than the cursor: with the default sort they come before it.
    await asyncio.gather(
        *(make_product(client, editor, categoryId=catalog["category"]["id"]) for _ in range(3))
    )
    rest = await _walk(client, {**base, "cursor": first["meta"]["nextCursor"]})
    ids = [p["id"] for p in first["data"] + rest]
    assert len(ids) == len(set(ids)) == 6  # no duplicates, no gaps among the original six
    original = [p["id"] for p in reversed(catalog["products"]) if p["status"] == "active"]
    assert ids == original


async def test_parameter_errors(client: httpx.AsyncClient) -> None:
    cases = [
        ({"pageSize": 1_000_000}, "pageSize", "out_of_range"),
        ({"limit": 101}, "limit", "out_of_range"),
        ({"sort": "cost"}, "sort", "unknown_sort_field"),
        ({"colour": "red"}, "colour", "unknown_parameter"),
        ({"minPriceCents": "cheap"}, "minPriceCents", "invalid_type"),
        ({"categoryId": "nope"}, "categoryId", "invalid_type"),
        ({"status": "sold"}, "status", "invalid_choice"),
        ({"fields": "secret"}, "fields", "unknown_fields_name"),
        ({"q": "x" * 201}, "q", "too_long"),
        ({"cursor": "tampered.cursor"}, "cursor", "invalid_cursor"),
    ]
    for params, field, code in cases:
        body = assert_error(await client.get(PRODUCTS, params=params), 400, code)
        assert field in {error["field"] for error in body["errors"]}, params


async def test_list_answers_304(client: httpx.AsyncClient, editor: Caller, admin: Caller) -> None:
    catalog = await _catalog(client, editor, admin, count=2)
    params = {"categoryId": catalog["category"]["id"]}
    first = await client.get(PRODUCTS, params=params)
    assert first.headers["cache-control"] == "public, max-age=60"
    again = await client.get(
        PRODUCTS, params=params, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


@pytest.fixture(scope="module")
async def large_catalog(
    make_settings: Callable[..., Settings], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Runtime]:
    """A separate PostgreSQL database with 20,000 seeded products and fresh statistics."""
    async with scratch_database(str(tmp_path_factory.mktemp("large"))) as url:
        settings = make_settings(database_url=url)
        await asyncio.to_thread(upgrade, settings)
        runtime = Runtime.create(settings)
        try:
            await seed_products(runtime, 20_000)
            await _rare_category(runtime)
            async with runtime.database.engine.begin() as connection:
                await connection.execute(text("ANALYZE"))  # commits: statistics are transactional
            yield runtime
        finally:
            await runtime.close()


async def _rare_category(runtime: Runtime) -> None:
    """A category with five products, where filtering by category is what narrows a query."""
    from agora.catalog.models import Category, Inventory, Product
    from agora.platform.db import utcnow
    from agora.platform.ids import new_id

    async with runtime.database.unit_of_work() as uow:
        category = Category(id=new_id(), name="Rare", slug="rare")
        uow.session.add(category)
        await uow.session.flush()
        for n in range(5):
            product = Product(
                id=new_id(),
                sku=f"RARE-{n}",
                name=f"Rare {n}",
                description="",
                price_cents=100,
                currency="USD",
                status="active",
                category_id=category.id,
                tags=[],
                created_at=utcnow(),
                updated_at=utcnow(),
            )
            uow.session.add(product)
            await uow.session.flush()
            uow.session.add(Inventory(product_id=product.id, quantity=1))
        await uow.commit()


# Each query, and the indexes the planner may rightly choose for it (the status index and the
# plain created_at index serve "newest first" equally when almost every product is active).
QUERIES: dict[str, tuple[dict[str, Any], set[str]]] = {
    "newest first": ({}, {"ix_products_status_created_at_id", "ix_products_created_at_id"}),
    "by name": ({"sort": "name"}, {"ix_products_status_name_id"}),
    "by price": ({"sort": "-priceCents"}, {"ix_products_status_price_id"}),
    "by category": ({"categoryId": "rare"}, {"ix_products_category_status_created_at_id"}),
    "price range": ({"minPriceCents": 100, "maxPriceCents": 500}, {"ix_products_status_price_id"}),
    "tag": ({"tag": "camping"}, {"ix_product_tags_tag_product_id", "pk_product_tags"}),
    "text": ({"q": "grinder 1234"}, {"ix_products_search"}),  # selective: one product
}


async def _plan(runtime: Runtime, params: dict[str, Any], *, analyze: bool = False) -> str:
    from agora.catalog.collections import PRODUCTS as SPEC
    from agora.catalog.models import Category, Product
    from agora.catalog.repository import product_rows

    values: dict[str, Any] = {f.name: params.get(f.name) for f in SPEC.filters}
    async with runtime.database.session() as session:
        if values["categoryId"] is not None:
            slug = values["categoryId"]
            values["categoryId"] = await session.scalar(
                select(Category.id).where(Category.slug == slug)
            )
    keys = set(params) - {"cursor"}
    query = build_query(
        SPEC,
        runtime.cursor_codec,
        keys,
        filters=values,
        sort=params.get("sort"),
        cursor=params.get("cursor"),
        page=params.get("page"),
        page_size=params.get("pageSize"),
    )
    statement = query.paginator.statement(
        query.where(product_rows()).where(Product.status == "active")
    )
    compiled = statement.compile(runtime.database.engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN (ANALYZE, BUFFERS)" if analyze else "EXPLAIN"
    async with runtime.database.engine.connect() as connection:
        rows = await connection.execute(text(f"{explain} {compiled}"))
        return "\n".join(row[0] for row in rows)


@pytest.mark.postgres_only
@pytest.mark.parametrize("name", sorted(QUERIES))
async def test_every_filter_and_sort_uses_its_index(large_catalog: Runtime, name: str) -> None:
    """EXPLAIN each public listing query on 20,000 products: the planner picks its index."""
    params, indexes = QUERIES[name]
    plan = await _plan(large_catalog, params)
    assert "Seq Scan on products" not in plan, plan
    assert any(index in plan for index in indexes), plan


@pytest.mark.postgres_only
async def test_a_deep_cursor_page_costs_what_the_first_costs(large_catalog: Runtime) -> None:
    """Page 500 by cursor reads as few buffers as page 1; by offset it reads far more."""
    from agora.catalog.collections import PRODUCTS as SPEC
    from agora.catalog.models import Product
    from agora.catalog.repository import product_rows

    async with large_catalog.database.session() as session:
        base = (
            product_rows()
            .where(Product.status == "active")
            .order_by(Product.created_at.desc(), Product.id.desc())
        )
        row = (await session.execute(base.offset(500 * 20).limit(1))).one()
    query = build_query(SPEC, large_catalog.cursor_codec, set(), filters={}, limit=20)
    cursor = query.paginator.cursor_after(row)

    first = _buffers(await _plan(large_catalog, {"limit": 20}, analyze=True))
    deep = _buffers(await _plan(large_catalog, {"limit": 20, "cursor": cursor}, analyze=True))
    offset = _buffers(await _plan(large_catalog, {"page": 501, "pageSize": 20}, analyze=True))
    assert deep <= first * 2 + 10, (first, deep)
    assert offset > deep * 10, (deep, offset)


def _buffers(plan: str) -> int:
    """Shared buffers the whole plan touched (the top node's count includes its children)."""
    import re

    match = re.search(r"Buffers: shared hit=(\d+)(?: read=(\d+))?", plan)
    assert match, plan
    return int(match.group(1)) + int(match.group(2) or 0)
