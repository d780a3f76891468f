"""The order of Agora's middleware, outermost first, in one place."""

from urllib.parse import urlsplit

from starlette.middleware import Middleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from agora.platform.http.access import AccessMiddleware
from agora.platform.http.body_limit import BodyLimitMiddleware
from agora.platform.http.compression import CompressionMiddleware
from agora.platform.http.cors import AgoraCORSMiddleware
from agora.platform.http.head import HeadAsGetMiddleware
from agora.platform.http.https import HttpsMiddleware
from agora.platform.http.idempotency import IdempotencyMiddleware
from agora.platform.http.path_rules import PathRules
from agora.platform.http.request_context import RequestContextMiddleware
from agora.platform.http.response_cache import ResponseCache, ResponseCacheMiddleware
from agora.platform.http.security_headers import SecurityHeaders
from agora.platform.http.versioning import ApiVersionMiddleware
from agora.platform.idempotency import IdempotencyStore
from agora.platform.ratelimit import RateLimiter, RatePolicy
from agora.platform.security.principals import Authenticator
from agora.settings import Settings


def middleware_stack(
    settings: Settings,
    *,
    authenticator: Authenticator | None = None,
    limiter: RateLimiter | None = None,
    rate_policy: RatePolicy | None = None,
    rules: PathRules | None = None,
    idempotency: IdempotencyStore | None = None,
    response_cache: ResponseCache | None = None,
) -> list[Middleware]:
    """Outermost first: client address and scheme, ids and logs, headers, the door, the body.

    `rules` are what the installed modules declared about their paths.
    """
    rules = rules or PathRules()
    public_host = urlsplit(settings.public_url).netloc if settings.public_url else None
    security = SecurityHeaders(hsts_max_age=settings.hsts_max_age)
    stack = []
    if settings.trusted_proxies:
        stack.append(Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies))
    stack.append(
        Middleware(
            RequestContextMiddleware,
            security=security,
            retry_after=settings.retry_after_seconds,
            access_log=settings.access_log,
        )
    )
    if settings.force_https:
        stack.append(Middleware(HttpsMiddleware, public_host=public_host))
    stack += [
        Middleware(
            AgoraCORSMiddleware,
            origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
        ),
        Middleware(ApiVersionMiddleware, versions=rules.versions()),
        Middleware(
            AccessMiddleware,
            authenticator=authenticator,
            limiter=limiter,
            policy=rate_policy or RatePolicy.from_settings(settings),
            strict_paths=rules.strict_rate_limit,
        ),
        Middleware(ResponseCacheMiddleware, cache=response_cache),
        Middleware(HeadAsGetMiddleware),
        Middleware(CompressionMiddleware, minimum_size=settings.gzip_min_bytes),
        Middleware(
            BodyLimitMiddleware,
            max_body_bytes=settings.max_body_bytes,
            max_upload_bytes=settings.max_upload_bytes,
            path_limits=rules.body_limits,
        ),
    ]
    if idempotency is not None:
        stack.append(
            Middleware(IdempotencyMiddleware, store=idempotency, excluded=rules.never_stored)
        )
    return stack
