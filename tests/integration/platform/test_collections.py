"""Collection machinery through HTTP into the real database: cursors, offsets, filters, ETags."""

import random
from typing import Any

import httpx

from tests.support.assertions import assert_error
from tests.support.random_refs import unique

ITEMS = "/api/v1/_chassis/items"


async def _create(client: httpx.AsyncClient, prefix: str, count: int) -> list[dict[str, Any]]:
    rng = random.Random(count)
    created = []
    for index in range(count):
        response = await client.post(
            ITEMS,
            json={
                "name": f"{prefix}-{rng.randint(0, 5)}-{index:03}",
                "priceCents": rng.randint(0, 4) * 100,
            },
        )
        assert response.status_code == 201, response.text
        created.append(response.json()["data"])
    return created


async def _walk(client: httpx.AsyncClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Follow nextCursor to the end; return every item seen."""
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.get(ITEMS, params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        seen.extend(body["data"])
        assert body["meta"]["hasMore"] == (body["meta"]["nextCursor"] is not None)
        cursor = body["meta"]["nextCursor"]
        if cursor is None:
            return seen


async def test_cursor_walk_matches_full_sort(chassis_client: httpx.AsyncClient) -> None:
    prefix = unique("walk")
    created = await _create(chassis_client, prefix, 23)
    for sort, key in [
        ("name", lambda item: (item["name"], item["id"])),
        ("-priceCents,name", lambda item: (-item["priceCents"], item["name"], item["id"])),
        ("priceCents,-createdAt", None),
    ]:
        walked = await _walk(chassis_client, {"nameStartsWith": prefix, "sort": sort, "limit": 4})
        assert len(walked) == 23
        assert len({item["id"] for item in walked}) == 23
        if key is not None:
            assert [item["id"] for item in walked] == [
                item["id"] for item in sorted(created, key=key)
            ]


async def test_default_sort_is_newest_first(chassis_client: httpx.AsyncClient) -> None:
    prefix = unique("newest")
    created = await _create(chassis_client, prefix, 5)
    body = (await chassis_client.get(ITEMS, params={"nameStartsWith": prefix})).json()
    assert [item["id"] for item in body["data"]] == [item["id"] for item in reversed(created)]
    assert body["meta"] == {"limit": 20, "nextCursor": None, "hasMore": False}


async def test_pages_are_stable_while_rows_are_inserted(chassis_client: httpx.AsyncClient) -> None:
    prefix = unique("stable")
    await _create(chassis_client, prefix, 10)
    params = {"nameStartsWith": prefix, "sort": "createdAt", "limit": 4}
    first = (await chassis_client.get(ITEMS, params=params)).json()
    # Rows inserted between pages land after the cursor position in this sort.
    inserted = await _create(chassis_client, prefix, 3)
    rest = await _walk(chassis_client, {**params, "cursor": first["meta"]["nextCursor"]})
    ids = [item["id"] for item in first["data"] + rest]
    assert len(ids) == len(set(ids)) == 13
    assert ids[-3:] == [item["id"] for item in inserted]


async def test_offset_pagination_reports_the_total(chassis_client: httpx.AsyncClient) -> None:
    prefix = unique("offset")
    await _create(chassis_client, prefix, 7)
    body = (
        await chassis_client.get(
            ITEMS, params={"nameStartsWith": prefix, "page": 2, "pageSize": 3, "sort": "name"}
        )
    ).json()
    assert body["meta"] == {"page": 2, "pageSize": 3, "total": 7}
    assert len(body["data"]) == 3
    everything = await _walk(chassis_client, {"nameStartsWith": prefix, "sort": "name"})
    assert body["data"] == everything[3:6]


async def test_filters_apply(chassis_client: httpx.AsyncClient) -> None:
    prefix = unique("filter")
    created = await _create(chassis_client, prefix, 12)
    walked = await _walk(chassis_client, {"nameStartsWith": prefix, "minPriceCents": 200})
    assert {item["id"] for item in walked} == {
        item["id"] for item in created if item["priceCents"] >= 200
    }


async def test_sparse_fieldset_keeps_id(chassis_client: httpx.AsyncClient) -> None:
    prefix = unique("sparse")
    await _create(chassis_client, prefix, 2)
    body = (
        await chassis_client.get(ITEMS, params={"nameStartsWith": prefix, "fields": "name"})
    ).json()
    assert all(set(item) == {"id", "name"} for item in body["data"])
    assert body["success"] is True and "meta" in body


async def test_list_has_etag_and_answers_304(chassis_client: httpx.AsyncClient) -> None:
    prefix = unique("etag")
    await _create(chassis_client, prefix, 2)
    params = {"nameStartsWith": prefix}
    first = await chassis_client.get(ITEMS, params=params)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=60"
    again = await chassis_client.get(ITEMS, params=params, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    gzip_tag = etag[:-1] + '-gzip"'
    weak = await chassis_client.get(
        ITEMS, params=params, headers={"If-None-Match": f"W/{gzip_tag}"}
    )
    assert weak.status_code == 304
    await _create(chassis_client, prefix, 1)
    changed = await chassis_client.get(ITEMS, params=params, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


async def test_tampered_cursor_is_400(chassis_client: httpx.AsyncClient) -> None:
    prefix = unique("tamper")
    await _create(chassis_client, prefix, 3)
    params = {"nameStartsWith": prefix, "limit": 1}
    cursor = (await chassis_client.get(ITEMS, params=params)).json()["meta"]["nextCursor"]
    body, mac = cursor.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for bad in (f"{flipped}.{mac}", f"{body}.{mac[:-1]}", "not-a-cursor", cursor + "x"):
        response = await chassis_client.get(ITEMS, params={**params, "cursor": bad})
        assert_error(response, 400, "invalid_cursor")


async def test_cursor_from_another_query_is_400(chassis_client: httpx.AsyncClient) -> None:
    prefix = unique("other")
    await _create(chassis_client, prefix, 3)
    params = {"nameStartsWith": prefix, "limit": 1}
    cursor = (await chassis_client.get(ITEMS, params=params)).json()["meta"]["nextCursor"]
    other_sort = await chassis_client.get(
        ITEMS, params={**params, "cursor": cursor, "sort": "name"}
    )
    assert_error(other_sort, 400, "invalid_cursor")
    other_filter = await chassis_client.get(
        ITEMS, params={**params, "cursor": cursor, "minPriceCents": 1}
    )
    assert_error(other_filter, 400, "invalid_cursor")


async def test_collection_parameter_errors_are_400(chassis_client: httpx.AsyncClient) -> None:
    cases = [
        ({"pageSize": 1_000_000}, "pageSize", "out_of_range"),
        ({"limit": 0}, "limit", "out_of_range"),
        ({"limit": 101}, "limit", "out_of_range"),
        ({"sort": "password"}, "sort", "unknown_sort_field"),
        ({"fields": "name,secret"}, "fields", "unknown_fields_name"),
        ({"color": "red"}, "color", "unknown_parameter"),
        ({"minPriceCents": "cheap"}, "minPriceCents", "invalid_type"),
        ({"page": 2, "cursor": "x.y"}, "page", "mixed_pagination"),
        ({"expand": "owner"}, "expand", "unknown_parameter"),
    ]
    for params, field, code in cases:
        response = await chassis_client.get(ITEMS, params=params)
        body = assert_error(response, 400, code)
        assert field in {error["field"] for error in body["errors"]}, (params, body)
