"""The response cache's own rules: LRU eviction, expiry, and no stale fill after a purge."""

import time

from agora.platform.http.response_cache import CachedResponse, ResponseCache


def entry(tag: str = "products:1", ttl: float = 60) -> CachedResponse:
    return CachedResponse(200, [], b"{}", time.monotonic() + ttl, False, (tag,))


def key(n: int) -> tuple[str, bytes, bool]:
    return (f"/api/v1/products/{n}", b"", False)


def test_a_read_that_began_before_a_purge_is_not_stored() -> None:
    cache = ResponseCache()
    began = cache.generation  # a slow read starts and sees the old row...
    cache.purge("products:1")  # ...a write commits and purges before the read finishes
    cache.put(key(1), entry(), began)
    assert cache.get(key(1)) is None
    cache.put(key(1), entry(), cache.generation)  # the next read stores as usual
    assert cache.get(key(1)) is not None


def test_eviction_drops_the_least_recently_read() -> None:
    cache = ResponseCache(max_entries=2)
    cache.put(key(1), entry())
    cache.put(key(2), entry())
    assert cache.get(key(1)) is not None  # 1 is now more recent than 2
    cache.put(key(3), entry())
    assert cache.get(key(2)) is None
    assert cache.get(key(1)) is not None
    assert cache.get(key(3)) is not None


def test_expired_entries_are_not_served() -> None:
    cache = ResponseCache()
    cache.put(key(1), entry(ttl=-1))
    assert cache.get(key(1)) is None
