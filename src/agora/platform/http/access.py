"""The door: who is calling, may they come in, and how much more may they ask.

For every API request this layer identifies the caller from a bearer token or an `X-API-Key`,
counts the request against the caller's rate limit (per user or key when authenticated, per
client IP otherwise, stricter on the paths modules declare strict, such as sign-in), answers
429 when the limit is spent, and refuses bad credentials with 401. Every response carries
`X-RateLimit-*` headers. Routes then read the caller from `request.state.principal`. Probes
(`/health`, `/ready`) are never limited.
"""

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.platform.errors import BadRequest, TooManyRequests, Unauthorized, send_error
from agora.platform.http.callers import PROBE_PATHS, client_key
from agora.platform.ratelimit import RateDecision, RateLimiter, RatePolicy
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
            authorization = api_key = None
            for name, value in scope["headers"]:
                if name == b"authorization":
                    authorization = value.decode("latin-1")
                elif name == b"x-api-key":
                    api_key = value.decode("latin-1")
            if authorization is not None or api_key is not None:
                try:
                    principal = await self.authenticator.identify(authorization, api_key)
                except Unauthorized as error:
                    refusal = error
        scope.setdefault("state", {})["principal"] = principal

        decision: RateDecision | None = None
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
            if not decision.allowed:
                await send_error(
                    _with_rate_headers(send, decision),
                    TooManyRequests(
                        f"Rate limit of {item} exceeded; retry in {decision.reset_after} s.",
                        headers={"Retry-After": str(decision.reset_after)},
                    ),
                )
                return

        target = send if decision is None else _with_rate_headers(send, decision)
        if refusal is not None:
            await send_error(target, refusal)
            return
        await self.app(scope, receive, target)


def _with_rate_headers(send: Send, decision: RateDecision) -> Send:
    extra = decision.headers()

    async def send_with_rate_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *extra]
        await send(message)

    return send_with_rate_headers


def _credentials_in_url(query: bytes) -> bool:
    lowered = query.lower()
    if not query or not any(hint in lowered for hint in _CREDENTIAL_HINTS):
        return False
    names = {
        name.lower().replace("-", "").replace("_", "")
        for name, _ in parse_qsl(query.decode("latin-1"))
    }
    return not names.isdisjoint({param.replace("_", "") for param in CREDENTIAL_PARAMS})
