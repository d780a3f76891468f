"""Registration, login, tokens, refresh rotation and logout, through HTTP."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI

from tests.support.assertions import assert_error
from tests.support.auth import PASSWORD, Caller, login, make_caller, refresh_cookie, register
from tests.support.random_refs import unique

ME = "/api/v1/users/me"


def _email() -> str:
    return f"{unique('auth')}@example.com"


async def test_register_creates_a_customer(client: httpx.AsyncClient) -> None:
    email = _email()
    response = await register(client, email.upper(), name="Ada")
    assert response.status_code == 201, response.text
    user = response.json()["data"]
    assert set(user) == {"id", "email", "name", "role", "createdAt", "updatedAt"}
    assert user["email"] == email and user["role"] == "customer" and user["name"] == "Ada"
    assert response.headers["location"].endswith(f"/api/v1/users/{user['id']}")
    assert "password" not in response.text.lower() and "argon2" not in response.text


async def test_email_is_unique_case_insensitively(client: httpx.AsyncClient) -> None:
    email = _email()
    assert (await register(client, email)).status_code == 201
    duplicate = await register(client, email.upper())
    assert_error(duplicate, 409, "email_taken")


async def test_register_cannot_choose_a_role(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": _email(), "password": PASSWORD, "name": "Eve", "role": "admin"},
    )
    body = assert_error(response, 400, "unknown_field")
    assert body["errors"][0]["field"] == "role"


@pytest.mark.parametrize(
    ("password", "status", "code"),
    [
        ("short", 400, "too_short"),
        ("x" * 129, 400, "too_long"),
        ("password123", 422, "password_too_common"),
        ("Iloveyou1", 422, "password_too_common"),
    ],
)
async def test_weak_passwords_are_refused(
    client: httpx.AsyncClient, password: str, status: int, code: str
) -> None:
    assert_error(await register(client, _email(), password=password), status, code)


async def test_password_made_of_the_email_is_refused(client: httpx.AsyncClient) -> None:
    email = f"{unique('marguerite')}@example.com"
    response = await register(client, email, password=email.split("@")[0] + "1")
    assert_error(response, 422, "password_like_email")


async def test_invalid_email_is_400(client: httpx.AsyncClient) -> None:
    assert_error(await register(client, "not-an-email"), 400)


async def test_login_returns_token_and_refresh_cookie(client: httpx.AsyncClient) -> None:
    email = _email()
    await register(client, email)
    response = await login(client, email.upper())
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"accessToken", "tokenType", "expiresIn"}
    assert data["tokenType"] == "Bearer" and data["expiresIn"] == 900
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("agora_refresh=")
    )
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/api/v1/auth"} <= attributes
    assert f"max-age={14 * 86400}" in attributes
    assert response.headers["cache-control"] == "private, no-store"


async def test_access_token_claims_and_jwks(client: httpx.AsyncClient) -> None:
    email = _email()
    user_id = (await register(client, email)).json()["data"]["id"]
    token = (await login(client, email)).json()["data"]["accessToken"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    jwks = (await client.get("/.well-known/jwks.json")).json()
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    assert set(key) == {"kty", "crv", "x", "y", "kid", "use", "alg"}  # no private part
    public = jwt.PyJWK(key).key
    claims = jwt.decode(token, public, algorithms=["ES256"], audience="agora-api", issuer="agora")
    assert claims["sub"] == user_id and claims["roles"] == ["customer"]
    assert {"iat", "exp", "jti", "sid"} <= set(claims)
    assert 899 <= claims["exp"] - claims["iat"] <= 900


async def test_me_with_and_without_token(client: httpx.AsyncClient, customer: Caller) -> None:
    response = await client.get(ME, headers=customer.headers)
    assert response.status_code == 200
    assert response.json()["data"]["email"] == customer.email
    assert response.headers["cache-control"] == "private, no-store"
    anonymous = await client.get(ME)
    assert_error(anonymous, 401, "unauthorized")
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


def _sign(app: FastAPI, payload: dict[str, Any], **kwargs: Any) -> str:
    keys = app.state.runtime.tokens.keys
    return jwt.encode(
        payload, keys.private_key, algorithm="ES256", headers={"kid": keys.kid}, **kwargs
    )


def _claims(user_id: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": user_id,
        "roles": ["customer"],
        "iat": now,
        "exp": now + 600,
        "iss": "agora",
        "aud": "agora-api",
        "jti": "x",
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


async def test_bad_tokens_are_401(
    app: FastAPI, client: httpx.AsyncClient, customer: Caller
) -> None:
    keys = app.state.runtime.tokens.keys
    public_pem = keys.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    other_key = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    valid = _claims(customer.id)
    tampered = customer.token[:-4] + ("AAAA" if not customer.token.endswith("AAAA") else "BBBB")
    cases = {
        "expired": _sign(app, _claims(customer.id, iat=now - 1000, exp=now - 100)),
        "wrong audience": _sign(app, _claims(customer.id, aud="someone-else")),
        "wrong issuer": _sign(app, _claims(customer.id, iss="evil")),
        "no expiry": _sign(app, _claims(customer.id, exp=None)),
        "alg none": jwt.encode(valid, None, algorithm="none", headers={"kid": keys.kid}),
        "hs256 with public key": _hs256(valid, public_pem, keys.kid),
        "unknown kid": jwt.encode(valid, other_key, algorithm="ES256", headers={"kid": "nope"}),
        "other key, our kid": jwt.encode(
            valid, other_key, algorithm="ES256", headers={"kid": keys.kid}
        ),
        "tampered signature": tampered,
        "garbage": "not.a.token",
        "huge": "a" * 10_000,
    }
    for name, token in cases.items():
        response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"].startswith("Bearer"), name
        assert_error(response, 401)
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Token abc", customer.token):
        response = await client.get(ME, headers={"Authorization": header})
        assert response.status_code == 401, header


def _hs256(payload: dict[str, Any], secret: bytes, kid: str) -> str:
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(payload).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


async def test_invalid_credentials_are_refused_on_public_routes_too(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/.well-known/jwks.json")).status_code == 200
    response = await client.get("/.well-known/jwks.json", headers={"Authorization": "Bearer x"})
    assert_error(response, 401, "invalid_token")


async def test_tokens_in_the_query_string_are_refused(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    for name in ("access_token", "api_key", "apiKey", "token"):
        response = await client.get(ME, params={name: customer.token})
        assert_error(response, 400, "credentials_in_url")


async def test_unknown_email_and_wrong_password_look_the_same(client: httpx.AsyncClient) -> None:
    email = _email()
    await register(client, email)
    wrong = await login(client, email, "not-the-password-1")
    unknown = await login(client, _email(), "not-the-password-1")
    for response in (wrong, unknown):
        body = assert_error(response, 401, "invalid_credentials")
        assert body["message"] == "Invalid email or password."


async def test_refresh_rotates_and_reuse_revokes_the_family(
    secure_client: httpx.AsyncClient,
) -> None:
    client = secure_client
    email = _email()
    await register(client, email)
    signed_in = await login(client, email)
    first_refresh = refresh_cookie(signed_in)
    first_access = signed_in.json()["data"]["accessToken"]

    rotated = await client.post("/api/v1/auth/refresh")  # the cookie jar sends the cookie
    assert rotated.status_code == 200, rotated.text
    second_refresh = refresh_cookie(rotated)
    second_access = rotated.json()["data"]["accessToken"]
    assert second_refresh != first_refresh and second_access != first_access
    assert (
        await client.get(ME, headers={"Authorization": f"Bearer {second_access}"})
    ).status_code == 200

    # Replaying the first refresh token is theft: the whole family is revoked.
    replay = await client.post("/api/v1/auth/refresh", json={"refreshToken": first_refresh})
    assert_error(replay, 401, "invalid_refresh_token")
    after = await client.post("/api/v1/auth/refresh", json={"refreshToken": second_refresh})
    assert_error(after, 401, "invalid_refresh_token")
    for token in (first_access, second_access):
        assert (
            await client.get(ME, headers={"Authorization": f"Bearer {token}"})
        ).status_code == 401


async def test_refresh_in_body_for_non_browser_clients(client: httpx.AsyncClient) -> None:
    email = _email()
    await register(client, email)
    token = refresh_cookie(await login(client, email))
    response = await client.post("/api/v1/auth/refresh", json={"refreshToken": token})
    assert response.status_code == 200
    assert refresh_cookie(response) != token


async def test_concurrent_refreshes_cannot_both_succeed(client: httpx.AsyncClient) -> None:
    email = _email()
    await register(client, email)
    token = refresh_cookie(await login(client, email))
    responses = await asyncio.gather(
        *(client.post("/api/v1/auth/refresh", json={"refreshToken": token}) for _ in range(5))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(200) == 1, statuses  # one rotation wins; the rest are reuse
    assert set(statuses) <= {200, 401}


@pytest.mark.parametrize("token", ["", "garbage", "x" * 300, "\u00e9t\u00e9"])
async def test_bad_refresh_tokens_are_401(client: httpx.AsyncClient, token: str) -> None:
    response = await client.post("/api/v1/auth/refresh", json={"refreshToken": token})
    assert response.status_code in (400, 401)
    assert_error(response, response.status_code)


async def test_garbage_refresh_cookie_is_401(secure_client: httpx.AsyncClient) -> None:
    secure_client.cookies.set(
        "agora_refresh", "\x00garbage;;", domain="agora.test", path="/api/v1/auth"
    )
    response = await secure_client.post("/api/v1/auth/refresh")
    assert_error(response, 401, "invalid_refresh_token")


async def test_logout_revokes_session_and_access_token(secure_client: httpx.AsyncClient) -> None:
    client = secure_client
    email = _email()
    await register(client, email)
    signed_in = await login(client, email)
    access = signed_in.json()["data"]["accessToken"]
    headers = {"Authorization": f"Bearer {access}"}
    assert (await client.get(ME, headers=headers)).status_code == 200

    response = await client.post("/api/v1/auth/logout")
    assert response.status_code == 204 and response.content == b""
    cleared = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("agora_refresh=")
    )
    assert "max-age=0" in cleared.lower()
    assert (await client.get(ME, headers=headers)).status_code == 401
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refreshToken": refresh_cookie(signed_in)}
    )
    assert refresh.status_code == 401
    # Logging out twice is fine.
    assert (await client.post("/api/v1/auth/logout")).status_code == 204


async def test_logout_with_only_the_access_token(client: httpx.AsyncClient, app: FastAPI) -> None:
    caller = await make_caller(app, client)
    assert (await client.post("/api/v1/auth/logout", headers=caller.headers)).status_code == 204
    assert (await client.get(ME, headers=caller.headers)).status_code == 401


async def test_other_sessions_survive_a_logout(client: httpx.AsyncClient) -> None:
    email = _email()
    await register(client, email)
    phone = (await login(client, email)).json()["data"]["accessToken"]
    laptop = await login(client, email)
    await client.post("/api/v1/auth/logout", json={"refreshToken": refresh_cookie(laptop)})
    assert (await client.get(ME, headers={"Authorization": f"Bearer {phone}"})).status_code == 200


async def test_refresh_token_expires(app: FastAPI, client: httpx.AsyncClient) -> None:
    from sqlalchemy import update

    from agora.identity.models import RefreshToken

    email = _email()
    await register(client, email)
    token = refresh_cookie(await login(client, email))
    async with app.state.runtime.database.unit_of_work() as uow:
        past = datetime.now(UTC) - timedelta(seconds=1)
        import hashlib

        await uow.session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == hashlib.sha256(token.encode()).hexdigest())
            .values(expires_at=past)
        )
        await uow.commit()
    response = await client.post("/api/v1/auth/refresh", json={"refreshToken": token})
    assert_error(response, 401, "invalid_refresh_token")
