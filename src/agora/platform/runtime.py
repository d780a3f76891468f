"""Everything one Agora instance holds for its lifetime, built from settings in one place.

The app factory, the CLI and the tests all build a `Runtime`, so a service gets the same
database, limiter and token machinery whichever entry point started it.
"""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis

from agora.platform.broadcast import Broadcast
from agora.platform.broker import Broker, InProcessBroker, RabbitBroker
from agora.platform.cache import Cache, MemoryCache, RedisCache
from agora.platform.clock import Clock, SystemClock
from agora.platform.db import Database
from agora.platform.http.response_cache import ResponseCache
from agora.platform.pagination import CursorCodec
from agora.platform.ratelimit import RateLimiter, RatePolicy
from agora.platform.redis import RedisBreaker, breaker_from, create_redis
from agora.platform.secrets import load_or_create_secret
from agora.platform.security.passwords import PasswordHasher
from agora.platform.security.revocation import RevocationList
from agora.platform.security.tokens import AccessTokens, SigningKeys
from agora.platform.storage import Storage, create_storage
from agora.settings import Settings


def _secret(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    return load_or_create_secret(settings.data_dir / "secret.key")


@dataclass
class Runtime:
    settings: Settings
    database: Database
    redis: Redis | None
    redis_breaker: RedisBreaker
    broadcast: Broadcast
    limiter: RateLimiter
    rate_policy: RatePolicy
    revocations: RevocationList
    tokens: AccessTokens
    passwords: PasswordHasher
    cursor_codec: CursorCodec
    cache: Cache
    storage: Storage
    clock: Clock
    response_cache: ResponseCache | None
    broker: Broker
    secret: bytes = field(repr=False)

    @classmethod
    def create(cls, settings: Settings, *, clock: Clock | None = None) -> "Runtime":
        """Everything from `settings`; `clock` lets tests move time (default: the system's)."""
        breaker = breaker_from(settings)
        redis = create_redis(settings, breaker)
        revocations = RevocationList(settings.access_token_ttl_seconds)
        secret = _secret(settings)
        broadcast = Broadcast(redis, settings.redis_prefix)
        cache: Cache = MemoryCache()
        if redis is not None:
            shared = RedisCache(redis, settings.redis_prefix)
            # What could not reach Redis while it was down goes out once it answers again.
            breaker.on_recovery(shared.flush)
            breaker.on_recovery(broadcast.flush)
            cache = shared
        return cls(
            settings=settings,
            database=Database(settings),
            redis=redis,
            redis_breaker=breaker,
            broadcast=broadcast,
            limiter=RateLimiter(
                redis, settings.redis_prefix, lease_fraction=settings.rate_limit_lease
            ),
            rate_policy=RatePolicy.from_settings(settings),
            revocations=revocations,
            tokens=AccessTokens(
                SigningKeys.from_settings(settings),
                revocations,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                ttl_seconds=settings.access_token_ttl_seconds,
            ),
            passwords=PasswordHasher(
                time_cost=settings.password_hash_time_cost,
                memory_kib=settings.password_hash_memory_kib,
                parallelism=settings.password_hash_parallelism,
            ),
            cursor_codec=CursorCodec(secret),
            cache=cache,
            storage=create_storage(settings, secret),
            clock=clock or SystemClock(),
            response_cache=(
                ResponseCache(settings.response_cache_max_entries)
                if settings.response_cache_enabled
                else None
            ),
            broker=(
                RabbitBroker(settings.broker_url, prefix=settings.broker_prefix)
                if settings.broker_url
                else InProcessBroker()
            ),
            secret=secret,
        )

    async def ping_redis(self) -> None:
        if self.redis is not None:
            await self.redis.ping()

    async def close(self) -> None:
        await self.broker.close()
        await self.redis_breaker.close()
        await self.broadcast.close()
        await self.cache.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.database.dispose()


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
