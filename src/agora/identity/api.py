"""Identity routes: sign-in, users, API keys and the public signing keys."""

import uuid
from typing import Annotated

from fastapi import Body, Depends, Request, Response
from fastapi.responses import JSONResponse

from agora.identity.collections import API_KEYS, USERS
from agora.identity.errors import RefreshRejected
from agora.identity.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    LoginRequest,
    RefreshRequest,
    TokenRead,
    UserRead,
    UserRegister,
    UserSelfUpdate,
    UserUpdate,
)
from agora.identity.service import ApiKeyService, AuthService, SignIn, UserService
from agora.platform.envelope import Envelope, page_of
from agora.platform.http.caching import public
from agora.platform.querying import CollectionQuery, collection_query
from agora.platform.responses import (
    IF_MATCH,
    if_match_version,
    json_response,
    location,
    page_response,
)
from agora.platform.routing import api_router
from agora.platform.runtime import RuntimeDep
from agora.platform.security import (
    CurrentUser,
    OptionalPrincipal,
    Principal,
    Role,
    Scope,
    authorize,
    require_role,
)

REFRESH_COOKIE = "agora_refresh"
REFRESH_COOKIE_PATH = "/api/v1/auth"


async def users_service(request: Request) -> UserService:
    users: UserService = request.app.state.identity.users
    return users


async def auth_service(request: Request) -> AuthService:
    auth: AuthService = request.app.state.identity.auth
    return auth


async def api_key_service(request: Request) -> ApiKeyService:
    api_keys: ApiKeyService = request.app.state.identity.api_keys
    return api_keys


Users = Annotated[UserService, Depends(users_service)]
Auth = Annotated[AuthService, Depends(auth_service)]
ApiKeys = Annotated[ApiKeyService, Depends(api_key_service)]
UsersQuery = Annotated[CollectionQuery, collection_query(USERS)]
ApiKeysQuery = Annotated[CollectionQuery, collection_query(API_KEYS)]
Admin = require_role(Role.ADMIN)

router = api_router(prefix="/api/v1")


def _user(user: object, status_code: int = 200) -> Response:
    return json_response(Envelope(data=UserRead.model_validate(user)), status_code=status_code)


def _tokens(sign_in: SignIn) -> Response:
    body = Envelope(
        data=TokenRead(access_token=sign_in.access.token, expires_in=sign_in.access.expires_in)
    )
    response = json_response(body, etag=False)
    response.set_cookie(
        REFRESH_COOKIE,
        sign_in.refresh_token,
        max_age=sign_in.refresh_max_age,
        path=REFRESH_COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return response


# --- auth ---------------------------------------------------------------------------------


@router.post("/auth/register", status_code=201, tags=["auth"], response_model=Envelope[UserRead])
async def register(body: UserRegister, request: Request, users: Users) -> Response:
    """Create a customer account."""
    user = await users.register(body)
    response = _user(user, status_code=201)
    response.headers["Location"] = location(request, f"/api/v1/users/{user.id}")
    return response


@router.post("/auth/login", tags=["auth"], response_model=Envelope[TokenRead])
async def login(body: LoginRequest, request: Request, auth: Auth) -> Response:
    """Exchange email and password for an access token and a refresh cookie."""
    client = request.client.host if request.client else "unknown"
    sign_in = await auth.login(
        body.email, body.password, ip=client, user_agent=request.headers.get("user-agent", "")
    )
    return _tokens(sign_in)


@router.post("/auth/refresh", tags=["auth"], response_model=Envelope[TokenRead])
async def refresh(
    request: Request, auth: Auth, body: Annotated[RefreshRequest | None, Body()] = None
) -> Response:
    """Rotate the refresh token (cookie, or `refreshToken` in the body) for new tokens."""
    token = (body.refresh_token if body else None) or request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise RefreshRejected("No refresh token: send the cookie or `refreshToken`.")
    return _tokens(await auth.refresh(token))


@router.post("/auth/logout", status_code=204, tags=["auth"])
async def logout(
    request: Request,
    auth: Auth,
    principal: OptionalPrincipal,
    body: Annotated[RefreshRequest | None, Body()] = None,
) -> Response:
    """End this sign-in: the refresh token family and its access tokens stop working."""
    token = (body.refresh_token if body else None) or request.cookies.get(REFRESH_COOKIE)
    await auth.logout(token, principal)
    response = Response(status_code=204)
    response.delete_cookie(
        REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, secure=True, httponly=True, samesite="strict"
    )
    return response


# --- users --------------------------------------------------------------------------------


@router.get("/users/me", tags=["users"], response_model=Envelope[UserRead])
async def get_me(user: CurrentUser, users: Users) -> Response:
    """The signed-in user."""
    return _user(await users.get(user.id, viewer=user))


@router.patch(
    "/users/me", tags=["users"], response_model=Envelope[UserRead], openapi_extra=IF_MATCH
)
async def update_me(
    body: UserSelfUpdate, request: Request, user: CurrentUser, users: Users
) -> Response:
    """Change one's own name, email or password (the last two need `currentPassword`)."""
    version = await if_match_version(
        request,
        lambda: users.get(user.id, viewer=user),
        lambda u: Envelope(data=UserRead.model_validate(u)),
    )
    return _user(await users.update_self(body, actor=user, expected_version=version))


@router.get(
    "/users",
    tags=["users"],
    response_model=page_of(UserRead),
    dependencies=[authorize(Role.ADMIN, scope=Scope.USERS_READ)],
)
async def list_users(query: UsersQuery, users: Users) -> Response:
    """All users (admin)."""
    return page_response(await users.list(query), UserRead, query)


@router.get("/users/{user_id:uuid}", tags=["users"], response_model=Envelope[UserRead])
async def get_user(
    user_id: uuid.UUID,
    principal: Annotated[Principal, authorize(scope=Scope.USERS_READ)],
    users: Users,
) -> Response:
    """One user (admins, the user themselves, or an API key with `users:read`)."""
    return _user(await users.get(user_id, viewer=principal))


@router.patch(
    "/users/{user_id:uuid}",
    tags=["users"],
    response_model=Envelope[UserRead],
    openapi_extra=IF_MATCH,
)
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, request: Request, user: CurrentUser, users: Users
) -> Response:
    """Change a user; only admins may change `role`."""
    version = await if_match_version(
        request,
        lambda: users.get(user_id, viewer=user),
        lambda u: Envelope(data=UserRead.model_validate(u)),
    )
    return _user(await users.update(user_id, body, actor=user, expected_version=version))


@router.delete("/users/{user_id:uuid}", status_code=204, tags=["users"])
async def delete_user(
    user_id: uuid.UUID, user: Annotated[Principal, Admin], users: Users
) -> Response:
    """Delete a user (admin); their sign-ins and tokens stop working at once."""
    await users.delete(user_id, actor=user)
    return Response(status_code=204)


# --- API keys -----------------------------------------------------------------------------


@router.post(
    "/api-keys", status_code=201, tags=["api keys"], response_model=Envelope[ApiKeyCreated]
)
async def create_api_key(
    body: ApiKeyCreate, request: Request, user: Annotated[Principal, Admin], keys: ApiKeys
) -> Response:
    """Create a key for server-to-server calls; the secret is shown only in this answer."""
    row, secret = await keys.create(body, actor=user)
    created = ApiKeyCreated.model_validate(
        {**ApiKeyRead.model_validate(row).model_dump(), "key": secret}
    )
    response = json_response(Envelope(data=created), status_code=201, etag=False)
    response.headers["Location"] = location(request, f"/api/v1/api-keys/{row.id}")
    return response


@router.get(
    "/api-keys", tags=["api keys"], response_model=page_of(ApiKeyRead), dependencies=[Admin]
)
async def list_api_keys(query: ApiKeysQuery, keys: ApiKeys) -> Response:
    """All API keys (admin), without their secrets."""
    return page_response(await keys.list(query), ApiKeyRead, query)


@router.delete("/api-keys/{key_id:uuid}", status_code=204, tags=["api keys"], dependencies=[Admin])
async def revoke_api_key(key_id: uuid.UUID, keys: ApiKeys) -> Response:
    """Revoke a key; every instance stops accepting it at once."""
    await keys.revoke(key_id)
    return Response(status_code=204)


# --- public keys --------------------------------------------------------------------------

well_known = api_router(tags=["auth"])


@well_known.get("/.well-known/jwks.json")
async def jwks(runtime: RuntimeDep) -> JSONResponse:
    """The public keys that verify Agora's access tokens (RFC 7517), for other services."""
    return JSONResponse(runtime.tokens.keys.jwks(), headers={"Cache-Control": public(300)})
