"""API keys: shown once, stored hashed, scoped, revocable at once, last use recorded."""

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from agora.identity.models import ApiKey
from tests.support.assertions import assert_error
from tests.support.auth import Caller

KEYS = "/api/v1/api-keys"


async def _create(client: httpx.AsyncClient, admin: Caller, scopes: list[str]) -> dict[str, str]:
    response = await client.post(
        KEYS, json={"name": "warehouse sync", "scopes": scopes}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"].endswith(f"{KEYS}/{response.json()['data']['id']}")
    data: dict[str, str] = response.json()["data"]
    return data


async def test_key_is_shown_once_and_stored_hashed(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller
) -> None:
    created = await _create(client, admin, ["users:read"])
    key = created["key"]
    assert key.startswith("agora_") and created["prefix"] in key
    listed = (await client.get(KEYS, headers=admin.headers)).json()["data"]
    assert any(item["id"] == created["id"] for item in listed)
    assert key not in (await client.get(KEYS, headers=admin.headers)).text
    async with app.state.runtime.database.session() as session:
        row = await session.scalar(select(ApiKey).where(ApiKey.id == uuid.UUID(created["id"])))
    assert row is not None and key not in (row.key_hash, row.prefix) and len(row.key_hash) == 64


async def test_key_authenticates_within_its_scopes(
    client: httpx.AsyncClient, admin: Caller, customer: Caller
) -> None:
    key = (await _create(client, admin, ["users:read"]))["key"]
    headers = {"X-API-Key": key}
    assert (await client.get(f"/api/v1/users/{customer.id}", headers=headers)).status_code == 200
    assert_error(await client.get("/api/v1/users/me", headers=headers), 403)  # users only
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 200
    without_scope = (await _create(client, admin, ["orders:read"]))["key"]
    refused = await client.get(f"/api/v1/users/{customer.id}", headers={"X-API-Key": without_scope})
    assert_error(refused, 403, "missing_scope")


async def test_revoked_key_stops_working_at_once(
    client: httpx.AsyncClient, admin: Caller, customer: Caller
) -> None:
    created = await _create(client, admin, ["users:read"])
    headers = {"X-API-Key": created["key"]}
    url = f"/api/v1/users/{customer.id}"
    assert (await client.get(url, headers=headers)).status_code == 200  # now cached
    assert (
        await client.delete(f"{KEYS}/{created['id']}", headers=admin.headers)
    ).status_code == 204
    assert_error(await client.get(url, headers=headers), 401, "invalid_api_key")
    listed = (await client.get(KEYS, headers=admin.headers)).json()["data"]
    assert next(item for item in listed if item["id"] == created["id"])["revokedAt"] is not None


async def test_last_use_is_recorded(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller, customer: Caller
) -> None:
    created = await _create(client, admin, ["users:read"])
    assert created["lastUsedAt"] is None
    await client.get(f"/api/v1/users/{customer.id}", headers={"X-API-Key": created["key"]})
    listed = (await client.get(KEYS, headers=admin.headers)).json()["data"]
    assert next(item for item in listed if item["id"] == created["id"])["lastUsedAt"] is not None


async def test_bad_keys_are_401(client: httpx.AsyncClient, admin: Caller) -> None:
    real = (await _create(client, admin, ["users:read"]))["key"]
    altered = real[:-1] + ("A" if real[-1] != "A" else "B")
    for key in ("nope", "agora_" + "0" * 12 + "_" + "x" * 43, altered, "x" * 5000):
        response = await client.get("/api/v1/users/me", headers={"X-API-Key": key})
        assert_error(response, 401, "invalid_api_key")


async def test_only_admins_manage_keys(
    client: httpx.AsyncClient, customer: Caller, admin: Caller
) -> None:
    body = {"name": "x", "scopes": ["users:read"]}
    assert_error(await client.post(KEYS, json=body, headers=customer.headers), 403)
    assert_error(await client.post(KEYS, json=body), 401)
    bad_scope = await client.post(
        KEYS, json={"name": "x", "scopes": ["root"]}, headers=admin.headers
    )
    assert_error(bad_scope, 400, "unknown_scope")
    past = await client.post(
        KEYS, json={**body, "expiresAt": "2020-01-01T00:00:00Z"}, headers=admin.headers
    )
    assert_error(past, 422)
    missing = await client.delete(
        f"{KEYS}/00000000-0000-7000-8000-000000000000", headers=admin.headers
    )
    assert_error(missing, 404, "api_key_not_found")


async def test_keys_are_rate_limited_on_their_own(client: httpx.AsyncClient, admin: Caller) -> None:
    key = (await _create(client, admin, ["users:read"]))["key"]
    url = f"/api/v1/users/{admin.id}"
    remaining = []
    for _ in range(3):
        response = await client.get(url, headers={"X-API-Key": key})
        remaining.append(int(response.headers["x-ratelimit-remaining"]))
    assert remaining == [99999, 99998, 99997]  # a fresh budget, counted per key
