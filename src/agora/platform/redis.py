"""The Redis client, when `AGORA_REDIS_URL` is set. Agora works without one (in-process)."""

from redis.asyncio import Redis

from agora.settings import Settings


def create_redis(settings: Settings) -> Redis | None:
    """A pooled client with short timeouts: a slow Redis must not stall requests."""
    if not settings.redis_url:
        return None
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.redis_timeout,
        socket_timeout=settings.redis_timeout,
        health_check_interval=30,
    )
