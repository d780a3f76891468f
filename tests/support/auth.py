"""Signing up, signing in and promoting users through the API, for tests."""

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from agora.identity.schemas import UserUpdate
from agora.identity.service import UserService
from agora.platform.ids import new_id
from agora.platform.security import Principal, Role
from tests.support.random_refs import unique

PASSWORD = "plum-orbit-lantern-42"
# An actor for test setup only: promotes users as an admin would.
SETUP_ADMIN = Principal(kind="user", id=new_id(), roles=frozenset({"admin"}))


@dataclass
class Caller:
    id: str
    email: str
    password: str
    token: str
    refresh_token: str
    role: str = "customer"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(
    client: httpx.AsyncClient,
    email: str | None = None,
    password: str = PASSWORD,
    name: str = "Test User",
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/register",
        json={
            "email": email or f"{unique('user')}@example.com",
            "password": password,
            "name": name,
        },
    )


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


def refresh_cookie(response: httpx.Response) -> str:
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name == "agora_refresh":
            return rest.split(";", 1)[0]
    raise AssertionError("no refresh cookie in the response")


async def make_caller(app: FastAPI, client: httpx.AsyncClient, role: str = "customer") -> Caller:
    """A registered, signed-in user with `role`."""
    email = f"{unique(role)}@example.com"
    created = await register(client, email)
    assert created.status_code == 201, created.text
    user_id = created.json()["data"]["id"]
    if role != "customer":
        service: UserService = app.state.identity.users
        await service.update(uuid.UUID(user_id), UserUpdate(role=Role(role)), actor=SETUP_ADMIN)
    signed_in = await login(client, email)
    assert signed_in.status_code == 200, signed_in.text
    return Caller(
        id=user_id,
        email=email,
        password=PASSWORD,
        token=signed_in.json()["data"]["accessToken"],
        refresh_token=refresh_cookie(signed_in),
        role=role,
    )
