"""The sliding-window counter that decides rate limits in process."""

import pytest
from limits import parse

from agora.platform.ratelimit import _SWEEP_EVERY, Windows

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
