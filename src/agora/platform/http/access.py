"""The door: who is calling, may they come in, and how much more may they ask.

For every API request this layer identifies the caller from a bearer token or an `X-API-Key`,
counts the request against the caller's rate limit (per user or key when authenticated, per
client IP otherwise, stricter on the paths modules declare strict, such as sign-in), answers
429 when the limit is spent, and refuses bad credentials with 401. Every response carries
`X-RateLimit-*` headers. Routes then read the caller from `request.state.principal`. Probes
(`/health`, `/ready`) are never limited.
"""

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from agora.platform.errors import BadRequest, TooManyRequests, Unauthorized, send_error
from agora.platform.http.callers import PROBE_PATHS, client_key
from agora.platform.http.headers import add_response_headers, request_headers
from agora.platform.ratelimit import RateLimiter, RatePolicy
from agora.platform.security.principals import Authenticator, Principal

CREDENTIAL_PARAMS = frozenset({"access_token", "accesstoken", "token", "api_key", "apikey"})
_CREDENTIAL_HINTS = (b"token", b"key")


class AccessMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator | None,
        limiter: RateLimiter | None,
        policy: RatePolicy,
        strict_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.limiter = limiter
        self.policy = policy
        self.strict_paths = strict_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return

        if _credentials_in_url(scope["query_string"]):
            await send_error(
                send,
                BadRequest(
                    "Credentials must not be sent in the URL; use the Authorization header.",
                    code="credentials_in_url",
                ),
            )
            return

        principal: Principal | None = None
        refusal: Unauthorized | None = None
        if self.authenticator is not None:
            headers = request_headers(scope)
            authorization = headers.get(b"authorization")
            api_key = headers.get(b"x-api-key")
            if authorization is not None or api_key is not None:
                try:
                    principal = await self.authenticator.identify(
                        None if authorization is None else authorization.decode("latin-1"),
                        None if api_key is None else api_key.decode("latin-1"),
                    )
                except Unauthorized as error:
                    refusal = error
        scope.setdefault("state", {})["principal"] = principal

        if self.limiter is not None:
            namespace, item = self.policy.for_request(
                strict=scope["path"].startswith(self.strict_paths),
                authenticated=principal is not None,
            )
            # The principal is at hand here; strict (sign-in) limits are always per client.
            if principal is not None and namespace != "auth":
                caller = principal.rate_key
            else:
                caller = client_key(scope)
            decision = await self.limiter.hit(item, namespace, caller, exact=namespace == "auth")
            add_response_headers(scope, *decision.headers())
            if not decision.allowed:
                await send_error(
                    send,
                    TooManyRequests(
                        f"Rate limit of {item} exceeded; retry in {decision.reset_after} s.",
                        headers={"Retry-After": str(decision.reset_after)},
                    ),
                )
                return

        if refusal is not None:
            await send_error(send, refusal)
            return
        await self.app(scope, receive, send)


def _credentials_in_url(query: bytes) -> bool:
    lowered = query.lower()
    if not query or not any(hint in lowered for hint in _CREDENTIAL_HINTS):
        return False
    names = {
        name.lower().replace("-", "").replace("_", "")
        for name, _ in parse_qsl(query.decode("latin-1"))
    }
    return not names.isdisjoint({param.replace("_", "") for param in CREDENTIAL_PARAMS})
