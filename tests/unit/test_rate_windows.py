"""The sliding-window counter that decides rate limits in process, and leases' bookkeeping."""

import asyncio

import pytest
from limits import parse

from agora.platform.ratelimit import _SWEEP_EVERY, Leases, Windows

LIMIT = parse("10/minute")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [6_000_000.0]  # the start of a one-minute window
    monkeypatch.setattr("agora.platform.ratelimit.time.time", lambda: now[0])
    return now


def test_allows_up_to_the_limit_then_refuses(clock: list[float]) -> None:
    windows = Windows()
    decisions = [windows.hit(LIMIT, "anonymous", "ip:1") for _ in range(11)]
    assert [d.allowed for d in decisions] == [True] * 10 + [False]
    assert [d.remaining for d in decisions[:3]] == [9, 8, 7]
    assert decisions[-1].remaining == 0
    assert decisions[-1].reset_after == 60


def test_callers_and_limits_are_counted_apart(clock: list[float]) -> None:
    windows = Windows()
    for _ in range(10):
        windows.hit(LIMIT, "anonymous", "ip:1")
    assert windows.hit(LIMIT, "anonymous", "ip:2").allowed
    assert windows.hit(parse("20/minute"), "anonymous", "ip:1").allowed


def test_the_previous_window_weighs_by_how_much_of_it_still_overlaps(clock: list[float]) -> None:
    windows = Windows()
    for _ in range(10):
        windows.hit(LIMIT, "anonymous", "ip:1")
    clock[0] += 60 + 15  # 15 s into the next window: 3/4 of the previous one still counts
    allowed = 0
    while windows.hit(LIMIT, "anonymous", "ip:1").allowed:
        allowed += 1
    assert allowed == 2  # 10 * 0.75 = 7.5 counted, so two more fit under 10
    clock[0] += 120  # two windows later nothing of the burst is left
    assert windows.hit(LIMIT, "anonymous", "ip:1").remaining == 9


def test_refused_hits_do_not_count(clock: list[float]) -> None:
    windows = Windows()
    for _ in range(50):
        windows.hit(LIMIT, "anonymous", "ip:1")
    clock[0] += 120
    assert windows.hit(LIMIT, "anonymous", "ip:1").remaining == 9


def test_idle_windows_are_swept(clock: list[float]) -> None:
    windows = Windows()
    windows.hit(LIMIT, "anonymous", "ip:old")
    clock[0] += 180
    for n in range(_SWEEP_EVERY):
        windows.hit(parse("1000000/minute"), "anonymous", f"ip:{n % 3}")
    assert all("ip:old" not in key[0] for key in windows._windows)


async def test_exact_hits_at_a_window_boundary_give_unspent_budget_back_once(
    clock: list[float],
) -> None:
    """Sign-in limits lease one hit at a time, concurrently: budget left from the previous
    window is given back to Redis by one of them, not by each."""
    given_back: list[int] = []
    answer = asyncio.Event()

    async def script(keys: list[str], args: list[float]) -> list[int]:
        given_back.append(int(args[4]))
        await answer.wait()
        return [1, 1, 0]

    class FakeRedis:
        def register_script(self, _: str) -> object:
            return script

    leases = Leases(FakeRedis(), "t:", 0.05)  # type: ignore[arg-type]
    first = await asyncio.wait_for(
        asyncio.gather(leases.hit(LIMIT, ("ip:1",), True), _release(answer)), 1
    )
    assert first[0].allowed
    leases._leases[next(iter(leases._leases))].budget = 3  # leased, not spent, window ends
    clock[0] += 60
    answer.clear()
    given_back.clear()
    hits = [leases.hit(LIMIT, ("ip:1",), True) for _ in range(3)]
    await asyncio.wait_for(asyncio.gather(*hits, _release(answer)), 1)
    assert sum(given_back) == 3 and len(given_back) == 3


async def _release(event: asyncio.Event) -> None:
    await asyncio.sleep(0.01)
    event.set()
