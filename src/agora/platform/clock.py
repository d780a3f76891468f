"""Time, injectable: services are given the instance's clock, so tests can move it forward."""

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    __slots__ = ()  # moving it (`clock.offset = ...`) fails loudly: tests need a ShiftedClock

    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """The system clock moved by `offset` (tests: "an hour later")."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset
