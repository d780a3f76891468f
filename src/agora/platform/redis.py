"""The Redis client, when `AGORA_REDIS_URL` is set. Agora works without one (in-process)."""

from redis.asyncio import BlockingConnectionPool, Redis

from agora.settings import Settings


def create_redis(settings: Settings) -> Redis | None:
    """A pooled client with short timeouts: a slow Redis must not stall requests.

    The pool blocks (up to the timeout) when every connection is busy: the default pool
    raises "Too many connections" at once, which under a burst read as Redis being down.
    """
    if not settings.redis_url:
        return None
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        socket_timeout=settings.redis_timeout,
        health_check_interval=30,
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections
