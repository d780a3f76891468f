"""Users: who may read and change whom, roles, concurrency, deletion."""

import asyncio

import httpx
from fastapi import FastAPI

from tests.support.assertions import assert_error
from tests.support.auth import PASSWORD, Caller, login, make_caller, register
from tests.support.random_refs import unique

USERS = "/api/v1/users"
ME = "/api/v1/users/me"


async def test_admin_lists_users_with_filters_sort_and_fields(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller
) -> None:
    editors = [await make_caller(app, client, "editor") for _ in range(3)]
    response = await client.get(
        USERS,
        params={"role": "editor", "sort": "-createdAt,email", "limit": 2, "fields": "email"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert all(set(user) == {"id", "email"} for user in body["data"])
    assert body["meta"]["limit"] == 2 and body["meta"]["hasMore"] is True
    assert body["data"][0]["id"] == editors[-1].id  # newest first
    offset = await client.get(
        USERS, params={"page": 1, "pageSize": 5, "role": "editor"}, headers=admin.headers
    )
    assert offset.json()["meta"]["total"] >= 3
    assert_error(await client.get(USERS, params={"sort": "password"}, headers=admin.headers), 400)
    assert_error(await client.get(USERS, params={"role": "god"}, headers=admin.headers), 400)


async def test_customers_and_anonymous_cannot_list(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    assert_error(await client.get(USERS, headers=customer.headers), 403, "forbidden")
    assert_error(await client.get(USERS), 401)


async def test_a_user_sees_themselves_but_not_others(
    app: FastAPI, client: httpx.AsyncClient, customer: Caller, admin: Caller
) -> None:
    other = await make_caller(app, client)
    assert (await client.get(f"{USERS}/{customer.id}", headers=customer.headers)).status_code == 200
    hidden = await client.get(f"{USERS}/{other.id}", headers=customer.headers)
    assert_error(hidden, 404, "user_not_found")
    missing = await client.get(
        f"{USERS}/00000000-0000-7000-8000-000000000000", headers=customer.headers
    )
    assert hidden.json()["message"] == missing.json()["message"]  # indistinguishable
    assert (await client.get(f"{USERS}/{other.id}", headers=admin.headers)).status_code == 200
    assert_error(await client.get(f"{USERS}/not-a-uuid", headers=admin.headers), 404)


async def test_role_cannot_be_mass_assigned(client: httpx.AsyncClient, customer: Caller) -> None:
    via_me = await client.patch(ME, json={"role": "admin"}, headers=customer.headers)
    assert_error(via_me, 400, "unknown_field")
    via_id = await client.patch(
        f"{USERS}/{customer.id}", json={"role": "admin"}, headers=customer.headers
    )
    assert_error(via_id, 403, "role_change_forbidden")
    for field in ("id", "createdAt", "passwordHash", "version"):
        response = await client.patch(ME, json={field: "x"}, headers=customer.headers)
        assert_error(response, 400, "unknown_field")
    me = (await client.get(ME, headers=customer.headers)).json()["data"]
    assert me["role"] == "customer"


async def test_admin_changes_a_role_and_old_tokens_stop_working(
    client: httpx.AsyncClient, admin: Caller, customer: Caller
) -> None:
    response = await client.patch(
        f"{USERS}/{customer.id}", json={"role": "editor"}, headers=admin.headers
    )
    assert response.status_code == 200 and response.json()["data"]["role"] == "editor"
    assert_error(await client.get(ME, headers=customer.headers), 401, "invalid_token")
    fresh = await client.post("/api/v1/auth/refresh", json={"refreshToken": customer.refresh_token})
    assert fresh.status_code == 200
    token = fresh.json()["data"]["accessToken"]
    me = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert me.json()["data"]["role"] == "editor"


async def test_profile_updates(client: httpx.AsyncClient, customer: Caller) -> None:
    renamed = await client.patch(ME, json={"name": "Grace Hopper"}, headers=customer.headers)
    assert renamed.status_code == 200 and renamed.json()["data"]["name"] == "Grace Hopper"
    assert_error(await client.patch(ME, json={"name": None}, headers=customer.headers), 400)
    assert_error(
        await client.patch(ME, json={"name": ""}, headers=customer.headers), 400, "too_short"
    )
    new_email = f"{unique('moved')}@example.com"
    no_password = await client.patch(ME, json={"email": new_email}, headers=customer.headers)
    assert_error(no_password, 422, "current_password_incorrect")
    moved = await client.patch(
        ME, json={"email": new_email.upper(), "currentPassword": PASSWORD}, headers=customer.headers
    )
    assert moved.status_code == 200 and moved.json()["data"]["email"] == new_email


async def test_email_change_to_a_taken_address_is_409(
    app: FastAPI, client: httpx.AsyncClient, customer: Caller
) -> None:
    other = await make_caller(app, client)
    response = await client.patch(
        ME, json={"email": other.email, "currentPassword": PASSWORD}, headers=customer.headers
    )
    assert_error(response, 409, "email_taken")


async def test_password_change_ends_other_sessions(app: FastAPI, client: httpx.AsyncClient) -> None:
    caller = await make_caller(app, client)
    elsewhere = (await login(client, caller.email)).json()["data"]["accessToken"]
    new_password = "quiet-harbor-sunrise-77"
    changed = await client.patch(
        ME, json={"password": new_password, "currentPassword": PASSWORD}, headers=caller.headers
    )
    assert changed.status_code == 200
    assert (await client.get(ME, headers=caller.headers)).status_code == 200  # this session stays
    assert (
        await client.get(ME, headers={"Authorization": f"Bearer {elsewhere}"})
    ).status_code == 401
    assert (await login(client, caller.email, PASSWORD)).status_code == 401
    assert (await login(client, caller.email, new_password)).status_code == 200


async def test_lost_update_is_412(
    client: httpx.AsyncClient, admin: Caller, customer: Caller
) -> None:
    url = f"{USERS}/{customer.id}"
    etag = (await client.get(url, headers=admin.headers)).headers["etag"]
    first = await client.patch(
        url, json={"name": "First"}, headers={**admin.headers, "If-Match": etag}
    )
    assert first.status_code == 200
    assert first.headers["etag"] != etag
    second = await client.patch(
        url, json={"name": "Second"}, headers={**admin.headers, "If-Match": etag}
    )
    assert_error(second, 412, "precondition_failed")
    current = (await client.get(url, headers=admin.headers)).json()["data"]
    assert current["name"] == "First"


async def test_concurrent_conditional_updates_one_wins(
    client: httpx.AsyncClient, admin: Caller, customer: Caller
) -> None:
    url = f"{USERS}/{customer.id}"
    etag = (await client.get(url, headers=admin.headers)).headers["etag"]
    responses = await asyncio.gather(
        *(
            client.patch(
                url, json={"name": f"Writer {n}"}, headers={**admin.headers, "If-Match": etag}
            )
            for n in range(6)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 412}


async def test_get_answers_304_to_a_matching_etag(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    first = await client.get(ME, headers=customer.headers)
    again = await client.get(
        ME, headers={**customer.headers, "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


async def test_delete_user(app: FastAPI, client: httpx.AsyncClient, admin: Caller) -> None:
    victim = await make_caller(app, client)
    assert_error(await client.delete(f"{USERS}/{victim.id}", headers=victim.headers), 403)
    response = await client.delete(f"{USERS}/{victim.id}", headers=admin.headers)
    assert response.status_code == 204 and response.content == b""
    assert_error(await client.get(f"{USERS}/{victim.id}", headers=admin.headers), 404)
    assert_error(await client.get(ME, headers=victim.headers), 401)
    refresh = await client.post("/api/v1/auth/refresh", json={"refreshToken": victim.refresh_token})
    assert refresh.status_code == 401
    assert_error(await login(client, victim.email), 401, "invalid_credentials")
    assert (await register(client, victim.email)).status_code == 201  # the address is free again
    assert_error(await client.delete(f"{USERS}/{victim.id}", headers=admin.headers), 404)


async def test_the_last_admin_stays(app: FastAPI, client: httpx.AsyncClient, admin: Caller) -> None:
    from sqlalchemy import update

    from agora.identity.models import User

    # Make `admin` the only admin for this test, then restore the others.
    async with app.state.runtime.database.unit_of_work() as uow:
        others = await uow.session.execute(
            update(User)
            .where(User.role == "admin", User.email != admin.email)
            .values(role="editor")
            .returning(User.id)
        )
        demoted = [row[0] for row in others]
        await uow.commit()
    try:
        assert_error(
            await client.delete(f"{USERS}/{admin.id}", headers=admin.headers), 422, "last_admin"
        )
        demote = await client.patch(
            f"{USERS}/{admin.id}", json={"role": "customer"}, headers=admin.headers
        )
        assert_error(demote, 422, "last_admin")
    finally:
        async with app.state.runtime.database.unit_of_work() as uow:
            await uow.session.execute(update(User).where(User.id.in_(demoted)).values(role="admin"))
            await uow.commit()


async def test_no_response_ever_contains_a_secret(
    client: httpx.AsyncClient, admin: Caller, customer: Caller
) -> None:
    responses = [
        await client.get(ME, headers=customer.headers),
        await client.get(USERS, headers=admin.headers),
        await client.get(f"{USERS}/{customer.id}", headers=admin.headers),
        await client.patch(ME, json={"name": "Safe"}, headers=customer.headers),
    ]
    for response in responses:
        text = response.text.lower()
        assert "password" not in text and "argon2" not in text and "hash" not in text
